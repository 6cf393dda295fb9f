"""The dashboard's pages: small HTML shells that the scripts in `static/` fill from the
API and the live socket; the login form, logout and the language switch.

Every page needs a session (else a redirect to the login page) and a role (else 403).
"""

from __future__ import annotations

import html
import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from string import Template
from typing import Final
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import select

from dispatcher.rules import scopes
from dispatcher.store.models import Community
from dispatcher.users import accounts as users
from dispatcher.users.accounts import Role
from dispatcher.web import i18n, live_hub
from dispatcher.web import session as cookie_session
from dispatcher.web.forms import form_fields
from dispatcher.web.login_guard import Throttled, log_in
from dispatcher.web.state import DEPS

log = logging.getLogger("dispatcher.web.login")


@dataclass(frozen=True, slots=True)
class Page:
    path: str
    role: Role
    scripts: tuple[str, ...]  # in static/, after common.js
    title: str  # i18n key
    example: str  # a real path, for tests
    wallboard: bool = False  # the wallboard's screen (role wallboard) may open it


PAGES: Final = (
    Page("/queue", Role.OPERATOR, ("queue.js",), "queue.title", "/queue"),
    Page("/alarms/{alarm_id}", Role.OPERATOR, ("cards.js", "alarm.js"), "queue.title", "/alarms/1"),
    Page("/terminals", Role.OPERATOR, ("terminals.js",), "terminals.title", "/terminals"),
    Page(
        "/residents", Role.OPERATOR, ("cards.js", "residents.js"), "residents.title", "/residents"
    ),
    Page(
        "/residents/{resident_id}",
        Role.OPERATOR,
        ("cards.js", "residents.js"),
        "residents.title",
        "/residents/x",
    ),
    Page("/history", Role.OPERATOR, ("history.js",), "history.title", "/history"),
    Page(
        "/reports",
        Role.SUPERVISOR,
        ("vendor/chartjs/chart.umd.min.js", "reports.js"),
        "reports.title",
        "/reports",
    ),
    Page("/audit", Role.SUPERVISOR, ("audit.js",), "audit.title", "/audit"),
    Page("/checkins", Role.OPERATOR, ("checkins.js",), "checkins.title", "/checkins"),
    Page("/admin", Role.ADMIN, ("admin.js",), "admin.title", "/admin"),
    Page("/wall", Role.SUPERVISOR, ("wall.js",), "wall.title", "/wall", wallboard=True),
    Page("/map", Role.OPERATOR, ("vendor/leaflet/leaflet.js", "map.js"), "map.title", "/map"),
    Page(
        "/admin/residents/{resident_id}",
        Role.ADMIN,
        ("admin.js",),
        "admin.resident",
        "/admin/residents/x",
    ),
)

_SHELL: Final = Template("""<!doctype html>
<html lang="$lang"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf" content="$csrf">
<title>$title</title>
<link rel="stylesheet" href="$css">
<script type="application/json" id="boot">$boot</script>
<script src="$common" defer></script>
$script</head>
<body data-page="$page" data-live="down">
<header class="top">
<a class="brand" href="$home" title="$brand">$short_brand</a>
<nav>$nav</nav>
<span id="live-state" class="live-state">$down</span>
<button id="sound" class="sound" type="button" hidden>$sound</button>
$who
<a class="lang" href="/lang/$other_lang?next=$here">$other_name</a>
<form method="post" action="/logout" class="logout"><input type="hidden" name="csrf" value="$csrf">
<button type="submit">$logout</button></form>
</header>
<div id="offline-banner" class="offline-banner" role="alert" hidden>$offline</div>
<div id="toast" class="toast" role="status" hidden></div>
<main id="main">$body</main>
<footer class="keys" id="keys"></footer>
</body></html>
""")

_LOGIN: Final = Template("""<!doctype html>
<html lang="$lang"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title><link rel="stylesheet" href="$css"></head>
<body class="login-page">
<form method="post" action="/login" class="login">
<h1>$brand</h1><h2>$title</h2>
<p class="error" role="alert">$error</p>
<input type="hidden" name="csrf" value="$csrf"><input type="hidden" name="next" value="$next">
<label>$username_label<input name="username" autocomplete="username" required autofocus></label>
<label>$password_label<input name="password" type="password" autocomplete="current-password"
 required></label>
<button type="submit">$submit</button>
<a class="lang" href="/lang/$other_lang?next=$here">$other_name</a>
</form></body></html>
""")


def _json_for_html(value: object) -> str:
    """JSON that cannot close the script element it sits in."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def asset(request: web.Request, name: str) -> str:
    """A static file's URL with its content hash: a new version is never served stale
    from a browser's cache to a screen that stays open for a whole shift."""
    return str(request.app.router["static"].url_for(filename=name))


def _other_lang(lang: str) -> str:
    return "en" if lang == "zh-CN" else "zh-CN"


def _links(role: Role) -> list[tuple[str, str]]:
    """The header's pages for a role, in the order of a shift's work."""
    if role is Role.WALLBOARD:
        return [("/wall", "nav.wall")]
    links = [("/queue", "nav.queue"), ("/map", "nav.map"), ("/terminals", "nav.terminals")]
    links += [("/residents", "nav.residents"), ("/history", "nav.history")]
    links.append(("/checkins", "nav.checkins"))
    if role.at_least(Role.SUPERVISOR):
        links += [("/reports", "nav.reports"), ("/audit", "nav.audit"), ("/wall", "nav.wall")]
    if role.at_least(Role.ADMIN):
        links.append(("/admin", "nav.admin"))
    return links


def home(role: Role) -> str:
    return "/wall" if role is Role.WALLBOARD else "/queue"


async def _area(request: web.Request, who: users.Principal) -> str | None:
    """The name of the part of the city a scoped user sees, as people call it (a
    community by its name, not its id); None: the whole city."""
    if who.scope is None:
        return None
    if who.scope.level is not scopes.Level.COMMUNITY:
        return who.scope.name
    async with request.app[DEPS].sessions() as session:
        name = await session.scalar(select(Community.name).where(Community.id == who.scope.name))
    return name or who.scope.name


def _who(username: str, role: str, area: str | None) -> str:
    """Who is logged in, and as what; for a scoped user, over which part of the city in
    the role's place (a street's supervisor sees at a glance why another street's alarm
    is not on the queue; the pages they have say the role). All of it on hover."""
    title = " · ".join(part for part in (username, role, area) if part)
    after = (
        f'<small class="area">{html.escape(area)}</small>'
        if area
        else f"<small>{html.escape(role)}</small>"
    )
    return f'<span class="who" title="{html.escape(title)}">{html.escape(username)}{after}</span>'


async def shell(
    request: web.Request,
    who: users.Principal,
    token: str,
    *,
    page: Page | None,
    status: int = 200,
    body: str = "",
) -> web.Response:
    area = await _area(request, who)
    lang = i18n.lang_of(request)
    t = i18n.strings(lang)
    nav = "".join(
        f'<a href="{href}" data-nav="{href[1:]}">{html.escape(t[key])}</a>'
        for href, key in _links(who.role)
    )
    boot = {
        "lang": lang,
        "strings": t,
        "user": {"username": who.username, "role": who.role.value, "area": area},
        "timezone": request.app[DEPS].settings.city.timezone,
        "targets": {
            "answer_60": request.app[DEPS].settings.reports.answer_60_pct,
            "answer_180": request.app[DEPS].settings.reports.answer_180_pct,
            "attend_45": request.app[DEPS].settings.reports.attend_45_pct,
        },
    }
    text = _SHELL.substitute(
        lang=lang,
        csrf=cookie_session.csrf_token(token),
        title=html.escape(t[page.title] if page else t["forbidden.title"]),
        boot=_json_for_html(boot),
        css=asset(request, "app.css"),
        common=asset(request, "common.js"),
        script="".join(
            f'<script src="{asset(request, name)}" defer></script>\n'
            for name in (page.scripts if page else ())
        ),
        page=page.scripts[-1].removesuffix(".js") if page else "forbidden",
        brand=html.escape(t["app.title"]),
        home=home(who.role),
        short_brand=html.escape(t["app.brand"]),
        nav=nav,
        down=html.escape(t["live.down"]),
        sound=html.escape(t["sound.enable"]),
        who=_who(who.username, t["role." + who.role.value], area),
        other_lang=_other_lang(lang),
        here=quote(request.path_qs, safe=""),
        other_name=html.escape(t["nav.lang"]),
        logout=html.escape(t["nav.logout"]),
        offline=html.escape(t["banner.offline"]),
        body=body,
    )
    return web.Response(text=text, status=status, content_type="text/html")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def page_handler(page: Page) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        found = await cookie_session.cookie_principal(request)
        if found is None:
            raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='')}")
        who, token = found
        if not who.role.may(page.role, wallboard=page.wallboard):
            role = i18n.text(request, f"role.{page.role.value}")
            message = html.escape(i18n.text(request, "forbidden.text", role=role))
            title = html.escape(i18n.text(request, "forbidden.title"))
            body = f'<section class="forbidden"><h1>{title}</h1><p>{message}</p></section>'
            return await shell(request, who, token, page=None, status=403, body=body)
        return await shell(request, who, token, page=page)

    return handle


def _login_page(
    request: web.Request, *, target: str | None = None, error: str = "", status: int = 200
) -> web.Response:
    lang = i18n.lang_of(request)
    t = i18n.strings(lang)
    response = web.Response(status=status, content_type="text/html")
    response.text = _LOGIN.substitute(
        lang=lang,
        title=html.escape(t["login.title"]),
        css=asset(request, "app.css"),
        brand=html.escape(t["app.title"]),
        error=html.escape(error),
        csrf=cookie_session.login_form_token(request, response),
        next=html.escape(cookie_session.safe_next(target or request.query.get("next"))),
        username_label=html.escape(t["login.username"]),
        password_label=html.escape(t["login.password"]),
        submit=html.escape(t["login.submit"]),
        other_lang=_other_lang(lang),
        here=quote(request.path_qs, safe=""),
        other_name=html.escape(t["nav.lang"]),
    )
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    if await cookie_session.cookie_principal(request) is not None:
        raise web.HTTPFound(cookie_session.safe_next(request.query.get("next")))
    return _login_page(request)


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await form_fields(request)
    username, password = form.get("username", ""), form.get("password", "")
    target = cookie_session.safe_next(form.get("next", ""))
    if not cookie_session.login_form_ok(request, form.get("csrf", "")):
        error = i18n.text(request, "login.expired")
        return _login_page(request, target=target, error=error, status=403)
    token = await log_in(
        request, username, password, request.cookies.get(cookie_session.DEVICE_COOKIE)
    )
    if isinstance(token, Throttled):
        minutes = max(1, math.ceil(token.wait_s / 60))
        error = i18n.text(request, "login.throttled", minutes=minutes)
        return _login_page(request, target=target, error=error, status=429)
    if token is None:
        error = i18n.text(request, "login.failed")
        return _login_page(request, target=target, error=error, status=401)
    deps = request.app[DEPS]
    response = web.Response(status=303, headers={"Location": target})
    cookie_session.start(response, request, token.token, deps.settings.http.token_ttl_s)
    cookie_session.remember_device(response, request, token.device)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    found = await cookie_session.cookie_principal(request)
    if found is not None:
        who, token = found
        sent = (await form_fields(request)).get("csrf", "")
        if not cookie_session.csrf_ok(request, sent, token):
            raise web.HTTPForbidden(text="missing or wrong CSRF token")
        deps = request.app[DEPS]
        async with deps.sessions.begin() as session:
            await users.revoke_token(session=session, token=token)
        log.info("%s logged out", who.username)
        live_hub.session_ended(request.app)
    response = web.Response(status=303, headers={"Location": "/login"})
    cookie_session.end(response)
    return response


async def set_lang(request: web.Request) -> web.StreamResponse:
    lang = request.match_info["lang"]
    response = web.Response(
        status=303, headers={"Location": cookie_session.safe_next(request.query.get("next"))}
    )
    if lang in i18n.LANGS:
        response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, path="/", samesite="Lax")
    return response


async def root(request: web.Request) -> web.StreamResponse:
    found = await cookie_session.cookie_principal(request)
    raise web.HTTPFound(home(found[0].role) if found is not None else "/queue")
