"""Twilio's webhooks: delivery statuses, the call's TwiML and key presses, SMS replies.

Every request must carry a valid `X-Twilio-Signature` for `notifications.public_url`;
a forged or unsigned one gets 403 and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from dispatcher import catalog
from dispatcher.config import TwilioConfig
from dispatcher.phones import replies
from dispatcher.rules.messages import voice_text
from dispatcher.store.alarms import get_alarm
from dispatcher.store.changes import Changes
from dispatcher.store.deliveries import alarm_facts
from dispatcher.store.models import Alarm, Notification, Resident
from dispatcher.web.forms import form_fields
from dispatcher.web.schemas.base import ROW_ID_MAX
from dispatcher.web.state import DEPS, WebDeps

log = logging.getLogger("dispatcher.twilio")
Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.Response]]


def _say(language: str, what: str) -> str:
    return catalog.text(f"voice.{what}", language)


def twiml(response: VoiceResponse | MessagingResponse) -> web.Response:
    return web.Response(text=str(response), content_type="application/xml")


def signed(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def checked(request: web.Request) -> web.Response:
        deps = request.app[DEPS]
        settings = deps.settings.notifications
        form = await form_fields(request)
        url = settings.public_url.rstrip("/") + request.path_qs
        signature = request.headers.get("X-Twilio-Signature", "")
        token = settings.twilio.auth_token
        if not token or not RequestValidator(token).validate(url, form, signature):
            log.warning("refused an unsigned or forged Twilio request to %s", request.path)
            deps.metrics.webhooks_refused.labels(request.path.split("/")[2]).inc()
            raise web.HTTPForbidden(text="invalid signature")
        return await handler(request, form)

    return checked


def _nid(request: web.Request) -> int:
    """The notification's id in the path; one past the database's ids names nothing
    (and could not be bound as a query argument): 404, before any query."""
    text = request.match_info["nid"]
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= ROW_ID_MAX:
        raise web.HTTPNotFound(text="no such notification")
    return int(text)


@signed
async def status(request: web.Request, form: dict[str, str]) -> web.Response:
    deps = request.app[DEPS]
    state = form.get("MessageStatus") or form.get("CallStatus") or ""
    async with deps.sessions.begin() as session:
        outcome = await replies.record_status(
            session=session,
            notification_id=_nid(request),
            sid=form.get("MessageSid") or form.get("CallSid"),
            status=state,
            error_code=form.get("ErrorCode"),
            now=deps.clock.now(),
        )
    if outcome.alarm_id is not None and outcome.changed:
        deps.told(Changes(alarms=[outcome.alarm_id], steps=True, outbox=True))
    return web.Response(status=204)


def voice_of(language: str, settings: TwilioConfig) -> tuple[str, str]:
    if language.startswith("en"):
        return settings.voice_en, settings.voice_language_en
    return settings.voice, settings.voice_language


@signed
async def voice(request: web.Request, form: dict[str, str]) -> web.Response:
    """The call is answered: say who needs help, and ask for a key."""
    deps = request.app[DEPS]
    nid = _nid(request)
    response = VoiceResponse()
    if form.get("AnsweredBy", "").startswith("machine") or form.get("AnsweredBy") == "fax":
        # an answering machine is nobody at the door
        response.hangup()
        return twiml(response)
    async with deps.sessions() as session:
        n = await session.get(Notification, nid)
        alarm = await session.get(Alarm, n.alarm_id) if n is not None else None
        resident = (
            await session.get(Resident, alarm.resident_id)
            if alarm is not None and alarm.resident_id
            else None
        )
    if n is None or alarm is None:
        response.hangup()
        return twiml(response)
    tw = deps.settings.notifications.twilio
    speaker, language = voice_of(n.language, tw)
    gather = response.gather(num_digits=1, action=f"/twilio/gather/{nid}", method="POST", timeout=8)
    gather.say(
        voice_text(alarm_facts(alarm, resident), language=n.language),
        voice=speaker,
        language=language,
    )
    response.say(_say(n.language, "no_key"), voice=speaker, language=language)
    response.hangup()
    return twiml(response)


# what a caller hears after each key that acts
_SAID = {"1": "taken", "2": "declined", "3": "arrived"}


@signed
async def gather(request: web.Request, form: dict[str, str]) -> web.Response:
    """A key in the call: 1 takes the alarm, 2 declines, 3 is at the door, anything else
    hears it again."""
    deps = request.app[DEPS]
    nid = _nid(request)
    digits = form.get("Digits", "")
    call_sid = form.get("CallSid", "")
    response = VoiceResponse()
    if not call_sid:
        # Twilio sends every key with its call's id; without one it cannot be acted on once
        log.warning("a key press without CallSid for notification %s ignored", nid)
        response.hangup()
        return twiml(response)
    if digits not in _SAID:
        response.redirect(f"/twilio/voice/{nid}", method="POST")
        return twiml(response)
    now = deps.clock.now()
    async with deps.sessions.begin() as session:
        n = await session.get(Notification, nid)
        outcome = await replies.key_pressed(
            session=session,
            notification_id=nid,
            digits=digits,
            now=now,
            call_sid=call_sid,
            tell=deps.settings.notifications.tell_contacts,
        )
    language = n.language if n is not None else catalog.DEFAULT
    speaker, code = voice_of(language, deps.settings.notifications.twilio)
    if outcome.say is not None and not outcome.changed:
        text = outcome.say.text(language)  # refused: taken by another, closed
    else:
        text = _say(language, _SAID[digits])
    response.say(text, voice=speaker, language=code)
    response.hangup()
    if outcome.alarm_id is not None and outcome.changed:
        await told_by_phone(deps, outcome.alarm_id, now)
    return twiml(response)


@signed
async def sms(request: web.Request, form: dict[str, str]) -> web.Response:
    """An SMS to our number: a reply to an alarm, or STOP/START."""
    deps = request.app[DEPS]
    now = deps.clock.now()
    message_sid = form.get("MessageSid") or form.get("SmsSid")
    if not message_sid:
        # Twilio sends every SMS with its id; without one it cannot be acted on once
        log.warning("an SMS without MessageSid ignored")
        return twiml(MessagingResponse())
    async with deps.sessions.begin() as session:
        outcome = await replies.sms_received(
            session=session,
            phone=form.get("From", ""),
            body=form.get("Body", ""),
            now=now,
            message_sid=message_sid,
            tell=deps.settings.notifications.tell_contacts,
        )
    if outcome.alarm_id is not None and outcome.changed:
        await told_by_phone(deps, outcome.alarm_id, now)
    elif outcome.queued:
        deps.told(Changes(outbox=True))
    response = MessagingResponse()
    if outcome.say is not None:
        response.message(outcome.say.text(outcome.language))
    return twiml(response)


async def told_by_phone(deps: WebDeps, alarm_id: int, now: datetime) -> None:
    """After an SMS reply or a key pressed in a call changed the alarm."""
    async with deps.sessions() as session:
        alarm = await get_alarm(session=session, alarm_id=alarm_id)
    if alarm is not None:
        deps.told(Changes.of_action(alarm, now, via="phone"))
