"""Alibaba Cloud's HTTP batch pushes: SMS delivery reports (SmsReport), replies (SmsUp),
and call reports (VoiceCallReport, VoiceReport), each a JSON array POSTed to
`/aliyun/{callback_token}/...` and answered `{"code": 0, "msg": ...}`.

The token in the path is the credential (Alibaba Cloud signs no push): a wrong one gets
404. Pushes are retried (after 1, 5, 10 minutes, or when our answer is slow) and carry
no id of their own, so each item is kept by a key of what it says and acted on once,
in the same transaction as its effect; an error answers 500 so that it comes again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.phones import replies
from dispatcher.rules import routes
from dispatcher.store.changes import Changes
from dispatcher.store.db import is_postgresql
from dispatcher.store.failover import ALIYUN_PREFIX, fail_over
from dispatcher.store.models import Notification, ProviderPush
from dispatcher.web.state import DEPS, WebDeps
from dispatcher.web.twilio_hooks import told_by_phone

log = logging.getLogger("dispatcher.aliyun")
Item = dict[str, Any]
_OK = {"code": 0, "msg": "received"}  # Alibaba Cloud reads only the code

# a call's progress (VoiceCallReport) and its end (VoiceReport), as the statuses the
# Twilio path tracks (rules.notifications)
CALL_PROGRESS = {"200101": "initiated", "200201": "ringing", "200102": "answered"}
CALL_ANSWERED = frozenset({"200000", "200001", "200008"})  # heard it, hung up, no key
CALL_BUSY = frozenset({"200002"})
CALL_NOBODY = frozenset({"200003", "200005", "200007", "200010", "200011", "200012", "200130"})
KEYS = frozenset({"1", "2", "3"})


def call_end(code: str) -> str:
    if code in CALL_ANSWERED:
        return "completed"
    if code in CALL_BUSY:
        return "busy"
    if code in CALL_NOBODY:
        return "no-answer"
    return "failed"  # an invalid number (200004), a system error


def _checked(request: web.Request) -> WebDeps:
    deps = request.app[DEPS]
    token = deps.settings.notifications.aliyun.callback_token
    given = request.match_info.get("token", "")
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        deps.metrics.webhooks_refused.labels("aliyun").inc()
        raise web.HTTPNotFound
    return deps


async def _items(request: web.Request) -> list[Item]:
    try:
        body = await request.json(loads=json.loads)
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="the body is not JSON") from None
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list) or not all(isinstance(i, dict) for i in body):
        raise web.HTTPBadRequest(text="the body is not a JSON array of objects")
    return body


async def _first_time(session: AsyncSession, kind: str, item: Item, now: datetime) -> bool:
    """Keep the push's key; False when it came before (a retried push)."""
    said = json.dumps([kind, item], sort_keys=True, ensure_ascii=False, default=str)
    key = hashlib.sha256(said.encode()).hexdigest()
    insert = postgresql.insert if is_postgresql(session) else sqlite.insert
    result: Any = await session.execute(
        insert(ProviderPush).values(key=key, received_at=now).on_conflict_do_nothing()
    )
    return bool(result.rowcount)


def _nid(item: Item) -> int | None:
    try:
        return int(str(item.get("out_id", "")))
    except ValueError:
        return None


async def _ours(session: AsyncSession, item: Item, provider_id: str) -> Notification | None:
    """The notification this report is about, while Alibaba Cloud is still its
    provider: after a failover a late report of the first send finds nothing."""
    nid = _nid(item)
    n = await session.get(Notification, nid) if nid is not None else None
    if n is None:
        return None
    sid = ALIYUN_PREFIX + provider_id
    if n.provider_sid == sid or (n.provider_sid is None and n.failover is None):
        return n
    return None


Handler = Callable[[WebDeps, AsyncSession, Item, datetime], Awaitable[set[int]]]
# what one pushed item does, each effect in a transaction of its own with its own key
# (as Twilio's key press and status are two webhooks): a key press takes the alarm's
# and its notifications' locks, and a status after it in the same transaction could
# wait on a row the notifier's handover holds
Effects = Callable[[Item], list[tuple[str, Handler]]]


def _push(kind: str, effects: Effects) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def receive(request: web.Request) -> web.Response:
        deps = _checked(request)
        items = await _items(request)
        now = deps.clock.now()
        changed: set[int] = set()
        for item in items:
            for effect, handle in effects(item):
                async with deps.sessions.begin() as session:
                    if await _first_time(session, f"{kind}:{effect}", item, now):
                        changed |= await handle(deps, session, item, now)
        for alarm_id in changed:
            if kind == "voice-report":  # a key pressed: as after a Twilio gather
                await told_by_phone(deps, alarm_id, now)
            else:
                deps.told(Changes(alarms=[alarm_id], steps=True, outbox=True))
        return web.json_response(_OK)

    return receive


async def _report(
    deps: WebDeps,
    session: AsyncSession,
    n: Notification,
    *,
    sid: str,
    status: str,
    code: str | None,
    now: datetime,
) -> set[int]:
    """A status of `n` from Alibaba Cloud; a failure goes by the next route, once."""
    settings = deps.settings.notifications
    if status == "failed":
        move = routes.on_error(
            mark=n.failover,
            phone=n.phone,
            routes=settings.route_table(),
            default=settings.provider,
            why=f"Alibaba Cloud reported {status} ({code})",
        )
        if move is not None and await fail_over(
            session=session, notification_id=n.id, move=move, now=now
        ):
            deps.told(Changes(steps=True, outbox=True))
            return {n.alarm_id} if n.alarm_id is not None else set()
    outcome = await replies.record_status(
        session=session,
        notification_id=n.id,
        sid=ALIYUN_PREFIX + sid,
        status=status,
        error_code=code,
        now=now,
        provider="aliyun",
    )
    if outcome.moved:
        deps.told(Changes(steps=True, outbox=True))
    return {outcome.alarm_id} if outcome.alarm_id is not None and outcome.changed else set()


async def _sms_report(deps: WebDeps, session: AsyncSession, item: Item, now: datetime) -> set[int]:
    biz_id = str(item.get("biz_id", ""))
    n = await _ours(session, item, biz_id)
    if n is None:
        log.info("SMS report for no current notification ignored: %s", item.get("out_id"))
        return set()
    success = item.get("success") in {True, "true", "True"}
    status = "delivered" if success else "failed"
    code = None if success else str(item.get("err_code") or "")
    return await _report(deps, session, n, sid=biz_id, status=status, code=code, now=now)


def national_to_e164(phone: str) -> str:
    phone = phone.strip()
    return phone if phone.startswith("+") else f"+86{phone}"


async def sms_up(request: web.Request) -> web.Response:
    """Replies: each acts as a Twilio reply does, and is answered by an SMS of its own."""
    deps = _checked(request)
    items = await _items(request)
    now = deps.clock.now()
    answers: list[tuple[str, replies.Outcome]] = []
    async with deps.sessions.begin() as session:
        for item in items:
            phone = national_to_e164(str(item.get("phone_number", "")))
            sequence = str(item.get("sequence_id") or "")
            if not sequence:  # no id to keep it by: by what it says
                if not await _first_time(session, "sms-up", item, now):
                    continue
                sequence = hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()
            outcome = await replies.sms_received(
                session=session,
                phone=phone,
                body=str(item.get("content", "")),
                now=now,
                message_sid=f"aliyun:{sequence}"[:64],
                tell=deps.settings.notifications.tell_contacts,
            )
            answers.append((phone, outcome))
    for phone, outcome in answers:
        if outcome.alarm_id is not None and outcome.changed:
            await told_by_phone(deps, outcome.alarm_id, now)
        elif outcome.queued:
            deps.told(Changes(outbox=True))
        if outcome.say is not None and deps.answer_sms is not None:
            try:
                await deps.answer_sms(phone, outcome.say, outcome.language)
            except Exception as exc:
                # like a TwiML answer Twilio could not deliver: the reply itself counted
                log.warning("the answer to %s's reply did not go: %r", phone, exc)
    return web.json_response(_OK)


def _final(item: Item) -> bool:
    """A call's record (VoiceReport) rather than a step of it (VoiceCallReport)."""
    return any(k in item for k in ("duration", "end_time", "dtmf", "callee"))


async def _voice_key(deps: WebDeps, session: AsyncSession, item: Item, now: datetime) -> set[int]:
    n = await _ours(session, item, str(item.get("call_id", "")))
    if n is None:
        return set()
    outcome = await replies.key_pressed(
        session=session,
        notification_id=n.id,
        digits=str(item.get("dtmf"))[:1],
        call_sid=str(item.get("call_id", "")),
        now=now,
        tell=deps.settings.notifications.tell_contacts,
    )
    if outcome.moved:
        deps.told(Changes(steps=True, outbox=True))
    return {outcome.alarm_id} if outcome.alarm_id is not None and outcome.changed else set()


async def _voice_status(
    deps: WebDeps, session: AsyncSession, item: Item, now: datetime
) -> set[int]:
    call_id = str(item.get("call_id", ""))
    n = await _ours(session, item, call_id)
    if n is None:
        log.info("call report for no current notification ignored: %s", item.get("out_id"))
        return set()
    code = str(item.get("status_code", ""))
    status = call_end(code) if _final(item) else CALL_PROGRESS.get(code)
    if status is None:
        return set()
    return await _report(deps, session, n, sid=call_id, status=status, code=code, now=now)


def _voice_effects(item: Item) -> list[tuple[str, Handler]]:
    effects: list[tuple[str, Handler]] = []
    if _final(item) and str(item.get("dtmf") or "")[:1] in KEYS:
        effects.append(("key", _voice_key))
    effects.append(("status", _voice_status))
    return effects


sms_report = _push("sms-report", lambda _: [("status", _sms_report)])
voice_report = _push("voice-report", _voice_effects)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/aliyun/{token}/sms-report", sms_report)
    r.add_post("/aliyun/{token}/sms-up", sms_up)
    r.add_post("/aliyun/{token}/voice-report", voice_report)
