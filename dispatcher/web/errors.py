"""One JSON error shape for every API answer that is not a success."""

from __future__ import annotations

from aiohttp import web


def json_error(status: int, message: str, *, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)
