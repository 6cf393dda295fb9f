"""Dashboard sessions in a cookie, and the CSRF defences that come with cookies.

A session is an API token (`api_tokens`, the same rows as bearer tokens) kept in an
HttpOnly, SameSite=Strict cookie. So it works across several processes and restarts
with no shared secret to configure, and logging out deletes it on the server.

CSRF: a cookie-authenticated request that changes something must carry the page's CSRF
token (derived from the session token, which scripts of other sites cannot read) and,
when the browser says where it comes from, come from our own origin.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final
from urllib.parse import quote, urlsplit

from aiohttp import web

from dispatcher.rules.login_backoff import DEVICE_FOR
from dispatcher.users import accounts as users
from dispatcher.web.state import DEPS

COOKIE: Final = "dispatcher_session"
LOGIN_COOKIE: Final = "dispatcher_login"  # the login form's own CSRF token
# the device token of the last user who logged in with this browser (login_backoff)
DEVICE_COOKIE: Final = "dispatcher_device"
CSRF_HEADER: Final = "X-CSRF-Token"
CSRF_FIELD: Final = "csrf"
UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"dispatcher-csrf", hashlib.sha256).hexdigest()


def matches(sent: str, expected: str) -> bool:
    """A constant-time comparison of a token sent with the one expected; as bytes, since
    `hmac.compare_digest` refuses text that is not ASCII (and a client may send some)."""
    return hmac.compare_digest(sent.encode(), expected.encode())


def csrf_ok(request: web.Request, sent: str, session_token: str) -> bool:
    """A change by a cookie session: from our origin, with the page's CSRF token."""
    return same_origin(request) and matches(sent, csrf_token(session_token))


def same_origin(request: web.Request) -> bool:
    """False when the browser says the request comes from another site. No Origin
    header (curl, a script with a bearer token) is not a browser attack. Ours is
    `http.public_origin` when set (behind a proxy the Host may be the proxy's choice),
    else this listener's host."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    public = request.app[DEPS].settings.http.public_origin
    if public:
        parts = urlsplit(origin)
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}" == public
    return urlsplit(origin).netloc.lower() == request.host.lower()


def secure(request: web.Request) -> bool:
    """Whether cookies are for HTTPS only: the public origin is https, or this request
    came over it (directly, or through a trusted proxy)."""
    public = request.app[DEPS].settings.http.public_origin
    return public.startswith("https://") or request.secure


async def cookie_principal(request: web.Request) -> tuple[users.Principal, str] | None:
    """The user of the session cookie and its token, if the session is valid."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    deps = request.app[DEPS]
    async with deps.sessions() as session:
        found = await users.principal_for_token(session=session, token=token, now=deps.clock.now())
    return (found, token) if found is not None else None


async def api_principal(request: web.Request) -> users.Principal | None:
    """For `/api/` requests without an Authorization header: the cookie's user, after
    the CSRF checks for requests that change something."""
    found = await cookie_principal(request)
    if found is None:
        return None
    principal, token = found
    if request.method in UNSAFE and not csrf_ok(
        request, request.headers.get(CSRF_HEADER, ""), token
    ):
        raise web.HTTPForbidden(
            text='{"error": "missing or wrong CSRF token"}', content_type="application/json"
        )
    return principal


def start(response: web.StreamResponse, request: web.Request, token: str, ttl_s: int) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=ttl_s,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=secure(request),
    )
    response.del_cookie(LOGIN_COOKIE, path="/")


def remember_device(response: web.StreamResponse, request: web.Request, device: str) -> None:
    """The device token outlives sessions (a logout keeps it): it only lets this browser's
    user past login limits that others could fill."""
    response.set_cookie(
        DEVICE_COOKIE,
        device,
        max_age=int(DEVICE_FOR.total_seconds()),
        path="/login",
        httponly=True,
        samesite="Strict",
        secure=secure(request),
    )


def end(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")


def login_form_token(request: web.Request, response: web.StreamResponse) -> str:
    """The login form's CSRF token (double submit: cookie and hidden field agree)."""
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response.set_cookie(
        LOGIN_COOKIE, token, path="/", httponly=True, samesite="Strict", secure=secure(request)
    )
    return token


def login_form_ok(request: web.Request, field: str) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    return bool(cookie) and matches(cookie, field) and same_origin(request)


def safe_next(target: str | None, default: str = "/queue") -> str:
    """Only a path of this site: never send a user on to another one after login.

    Browsers drop tabs and newlines inside a URL, trim control characters and spaces at
    its ends and read a backslash as a slash, so `/\t/evil.example` is `//evil.example`
    to them: a target with any character that is not printable, or a backslash, is
    refused, not cleaned. What is left must be a path with no scheme and no host."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or not all(c.isprintable() and not c.isspace() for c in target)
    ):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    # a Location header is ASCII: other letters (a resident's name in a search) go as UTF-8
    return quote(target, safe="/?#&=%:@!$'()*+,;~-._")
