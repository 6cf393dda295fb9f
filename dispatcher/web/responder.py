"""The responder's page (docs/api.md): `GET /r/{token}` for a small phone screen, and
its buttons, `POST /r/{token}/{action}`, each the same as an SMS reply code.

No login: the link is the credential. An unknown or expired token, or an action the
page does not have, is 404 and shows nothing of any alarm; every view is audited; each
token and each client address is rate-limited.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web

from dispatcher import catalog
from dispatcher.phones import replies
from dispatcher.rules import replies as reply_rules
from dispatcher.rules import responder as rules
from dispatcher.rules.messages import category, what
from dispatcher.store import audit
from dispatcher.store.alarms import get_alarm
from dispatcher.store.changes import Changes
from dispatcher.store.models import AuditEntry
from dispatcher.store.responder_links import token_hash
from dispatcher.views.responder import ResponderView, responder_view
from dispatcher.web.pages import asset
from dispatcher.web.session import same_origin
from dispatcher.web.state import DEPS

# a person opens their page a few times and presses a button or two; more is a script.
# One address may be a carrier's NAT in front of many phones: a looser limit
PER_TOKEN: Final = 30
PER_ADDRESS: Final = 120
WINDOW: Final = timedelta(minutes=10)
LIMITS = web.AppKey("responder_limits", tuple[rules.Limiter, rules.Limiter])


def new_limits() -> tuple[rules.Limiter, rules.Limiter]:
    """Per token and per client address, kept by each process (made at its start)."""
    return rules.Limiter(PER_TOKEN, WINDOW), rules.Limiter(PER_ADDRESS, WINDOW)


def _plain(status: int, key: str, lang: str = catalog.DEFAULT) -> web.Response:
    words = html.escape(catalog.text(key, lang))
    body = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{words}</title></head><body><p>{words}</p></body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html")


def _allowed(request: web.Request, token: str, now: datetime) -> bool:
    per_token, per_address = request.app[LIMITS]
    return per_address.allow(request.remote or "?", now) and per_token.allow(
        token_hash(token)[:16], now
    )


def _same_site(request: web.Request) -> bool:
    """A button pressed on our page: no Origin (not a browser's cross-site form), ours, or
    the public address the link was sent with."""
    origin = request.headers.get("Origin")
    if origin is None or same_origin(request):
        return True
    public = request.app[DEPS].settings.notifications.public_url
    return bool(public) and urlsplit(origin).netloc.lower() == urlsplit(public).netloc.lower()


def _lang(request: web.Request, view: ResponderView) -> str:
    chosen = request.query.get("lang")
    return catalog.language(chosen if chosen in catalog.LANGUAGES else view.n.language)


async def page(request: web.Request) -> web.StreamResponse:
    deps = request.app[DEPS]
    token = request.match_info["token"]
    now = deps.clock.now()
    if not _allowed(request, token, now):
        return _plain(429, "responder.too_many")
    async with deps.sessions.begin() as session:
        view = await responder_view(session=session, token=token, now=now)
        if view is None:
            return _plain(404, "responder.gone")
        session.add(_audit_line(request, view, now))
    return _render(request, view, _lang(request, view), said=None)


def _audit_line(request: web.Request, view: ResponderView, now: datetime) -> AuditEntry:
    return audit.entry(
        audit.AuditAction.VIEW_RESPONDER,
        actor=view.n.recipient_name[:64],
        role=rules.kind_of(view.link.recipient_key)[:16],
        at=now,
        address=request.remote,
        resident_id=view.alarm.resident_id,
        alarm_id=view.alarm.id,
        community_id=view.alarm.community_id,
        detail={"recipient_key": view.link.recipient_key, "medical": view.medical is not None},
    )


async def act(request: web.Request) -> web.StreamResponse:
    deps = request.app[DEPS]
    token = request.match_info["token"]
    now = deps.clock.now()
    if not _allowed(request, token, now):
        return _plain(429, "responder.too_many")
    try:
        button = rules.Button(request.match_info["action"])
    except ValueError:
        return _plain(404, "responder.gone")  # no such button: as an unknown token
    if not _same_site(request):
        raise web.HTTPForbidden(text="cross-site request refused")
    said: str | None
    async with deps.sessions.begin() as session:
        view = await responder_view(session=session, token=token, now=now)
        if view is None:
            return _plain(404, "responder.gone")
        lang = _lang(request, view)
        asked = reply_rules.Asked(
            view.n.id, view.alarm.id, view.provider, view.alarm.status, view.n.recipient_name
        )
        decision = reply_rules.decide(
            reply_rules.Reply(rules.INTENT[button], view.alarm.id), [asked]
        )
        changed = False
        if isinstance(decision, reply_rules.Act):
            outcome = await replies.act(
                session=session,
                n=view.n,
                action=decision.action,
                via="link",
                now=now,
                tell=deps.settings.notifications.tell_contacts,
            )
            changed = outcome.changed
            said = (
                catalog.text(f"responder.done.{decision.action.value}", lang)
                if changed
                else (outcome.say.text(lang) if outcome.say is not None else None)
            )
        else:
            key = f"reply.{decision.why}" if isinstance(decision, reply_rules.Tell) else ""
            said = catalog.text(key, lang, code=view.alarm.id) if catalog.has(key) else None
    async with deps.sessions.begin() as session:
        fresh = await responder_view(session=session, token=token, now=now)
        alarm = await get_alarm(session=session, alarm_id=view.alarm.id)
    if changed and alarm is not None:
        deps.told(Changes.of_action(alarm, now, via="link"))
    if fresh is None:
        return _plain(404, "responder.gone")
    return _render(request, fresh, lang, said=said)


def _head(view: ResponderView, lang: str, now: datetime, tz: ZoneInfo) -> str:
    t, e, alarm = catalog.strings(lang), html.escape, view.alarm
    since = catalog.text(
        "responder.since",
        lang,
        time=alarm.created_at.astimezone(tz).strftime("%m-%d %H:%M"),
        minutes=max(0, int((now - alarm.created_at).total_seconds() // 60)),
    )
    return (
        f'<header class="r-head r-{e(alarm.kind)}">'
        f'<div class="r-brand">{e(t["responder.title"])}</div>'
        f'<h1>{e(_name(view))}</h1><p class="r-what">{e(what(alarm.type, lang))}</p>'
        f'<p class="r-since">{e(since)} · {e(t["status." + alarm.status])}</p></header>'
    )


def _name(view: ResponderView) -> str:
    return view.resident.name if view.resident is not None else (view.alarm.community_id or "")


def _where(view: ResponderView, lang: str, map_link: str) -> str:
    t, e, resident = catalog.strings(lang), html.escape, view.resident
    address = resident.address if resident is not None else ""
    where = f'<h2>{e(t["responder.where"])}</h2><p class="r-address">{e(address)}</p>'
    if view.location is not None:
        lat, lon = view.location
        href = map_link.format(lat=f"{lat:.6f}", lon=f"{lon:.6f}")
        where += f'<a class="r-link" href="{e(href)}">{e(t["responder.map"])}</a>'
    else:
        where += f'<p class="r-muted">{e(t["responder.no_location"])}</p>'
    phone = resident.phone if resident is not None else None
    call = (
        f'<a class="r-link r-tel" href="tel:{e(phone)}">{e(phone)}</a>'
        if phone
        else f'<p class="r-muted">{e(t["responder.no_phone"])}</p>'
    )
    found = f"<section>{where}</section><section><h2>{e(t['responder.phone'])}</h2>{call}</section>"
    if view.medical is not None:
        notes = e(view.medical or t["responder.medical_none"])
        found += (
            f'<section class="r-medical"><h2>{e(t["responder.medical"])}</h2>'
            f"<p>{notes}</p></section>"
        )
    return found


def _state(view: ResponderView, lang: str) -> str:
    t, e, alarm = catalog.strings(lang), html.escape, view.alarm
    lines = [
        catalog.text("responder.taken_by", lang, who=alarm.acknowledged_by)
        if alarm.acknowledged_by
        else t["responder.not_taken"]
    ]
    if alarm.arrived_by:
        lines.append(catalog.text("responder.arrived_by", lang, who=alarm.arrived_by))
    others = (
        "".join(
            f"<li>{e(o.name)} · {e(t['call.to.' + o.kind])}"
            + (f" · {e(t['responder.declined'])}" if o.declined else "")
            + "</li>"
            for o in view.others
        )
        or f'<li class="r-muted">{e(t["responder.nobody_else"])}</li>'
    )
    return (
        '<section class="r-state">'
        + "".join(f"<p>{e(line)}</p>" for line in lines)
        + f"<h2>{e(t['responder.others'])}</h2><ul>{others}</ul></section>"
    )


def _buttons(view: ResponderView, lang: str, token: str) -> str:
    t, e = catalog.strings(lang), html.escape
    if not view.buttons:
        closed = view.alarm.status == "resolved"
        return f'<p class="r-said">{e(t["responder.closed"])}</p>' if closed else ""
    forms = []
    for b in view.buttons:
        key = "responder.provider.take" if view.provider and b is rules.Button.TAKE else ""
        label = t[key or f"responder.button.{b.value}"]
        forms.append(
            f'<form method="post" action="/r/{e(token)}/{b.value}?lang={lang}">'
            f'<button class="r-btn r-btn-{b.value}" type="submit">{e(label)}</button></form>'
        )
    hint = t["responder.or_reply_provider" if view.provider else "responder.or_reply"]
    return f'<nav class="r-buttons">{"".join(forms)}</nav><p class="r-muted">{e(hint)}</p>'


def _render(
    request: web.Request, view: ResponderView, lang: str, *, said: str | None
) -> web.Response:
    deps = request.app[DEPS]
    t, e = catalog.strings(lang), html.escape
    token = request.match_info["token"]
    parts = [_head(view, lang, deps.clock.now(), deps.settings.city.tz)]
    if said:
        parts.append(f'<p class="r-said" role="status">{e(said)}</p>')
    hello = catalog.text("responder.hello", lang, name=view.n.recipient_name)
    parts.append(f'<p class="r-hello">{e(hello)}</p>')
    if view.alarm.kind == "service" and view.resident is not None:
        asked_for = category(view.resident.service_default, lang)
        parts.append(f"<p>{e(catalog.text('responder.service', lang, what=asked_for))}</p>")
    parts.append(_buttons(view, lang, token))
    parts.append(_where(view, lang, deps.settings.dashboard.map_link))
    parts.append(_state(view, lang))
    other = "en" if lang == "zh-CN" else "zh-CN"
    switch = f'<a href="/r/{e(token)}?lang={other}">{e(t["responder.lang"])}</a>'
    parts.append(f'<p class="r-lang">{switch}</p>')
    body = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="same-origin">'
        f"<title>{e(_name(view))} · {e(t['responder.title'])}</title>"
        f'<link rel="stylesheet" href="{asset(request, "responder.css")}"></head>'
        f'<body class="responder"><main>{"".join(parts)}</main></body></html>'
    )
    return web.Response(text=body, content_type="text/html")
