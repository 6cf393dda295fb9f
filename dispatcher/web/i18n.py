"""The dashboard's language: the user's choice (a cookie), Chinese by default, since the
operators work in Chinese. The words themselves are in `dispatcher.catalog`."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from dispatcher import catalog

LANGS: Final = catalog.LANGUAGES
DEFAULT: Final = catalog.DEFAULT
COOKIE: Final = "dispatcher_lang"


def strings(lang: str) -> dict[str, str]:
    return catalog.strings(lang)


def lang_of(request: web.Request) -> str:
    """The language the user picked (a cookie), else Chinese."""
    chosen = request.cookies.get(COOKIE, DEFAULT)
    return chosen if chosen in LANGS else DEFAULT


def text(request: web.Request, key: str, **values: object) -> str:
    return catalog.text(key, lang_of(request), **values)
