"""Twilio's side of an operator's call (docs/api.md, `dispatcher.phones.bridge`).

The operator's phone answers: `bridge` says whom we connect and <Dial>s them, with a
status callback of its own for that leg (`party`); `status` hears the operator's leg;
`dialed` hears how the <Dial> ended and tells the operator when nobody answered. Each
report becomes a `LegReport` for `dispatcher.rules.calls`, which acts on it once,
however often Twilio sends it. Every request is signed (`twilio_hooks.signed`).
"""

from __future__ import annotations

from aiohttp import web
from twilio.twiml.voice_response import Dial, VoiceResponse

from dispatcher import catalog
from dispatcher.phones import calls
from dispatcher.rules.calls import Leg, LegReport, Progress
from dispatcher.store.changes import Changes
from dispatcher.web.state import DEPS
from dispatcher.web.twilio_hooks import signed, twiml, voice_of

# seconds the other party's phone rings before Twilio gives up on it
DIAL_TIMEOUT_S = 30
_PARTY_EVENTS = "initiated ringing answered completed"
_PROGRESS = {
    "ringing": Progress.RINGING,
    "in-progress": Progress.ANSWERED,
    "answered": Progress.ANSWERED,
    "completed": Progress.ENDED,
    "busy": Progress.ENDED,
    "no-answer": Progress.ENDED,
    "failed": Progress.ENDED,
    "canceled": Progress.ENDED,
}


def _cid(request: web.Request) -> int:
    try:
        return int(request.match_info["cid"])
    except ValueError:
        raise web.HTTPNotFound from None


def _seconds(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def leg_report(leg: Leg, sid: str, status: str, duration: str | None) -> LegReport | None:
    """A Twilio call status as a report; None for one that says nothing (queued, initiated)."""
    progress = _PROGRESS.get(status)
    if progress is None or not sid:
        return None
    ended = progress == Progress.ENDED
    # an <Dial> that reached a conference says "answered" where a call says "completed"
    outcome = ("completed" if status == "answered" else status) if ended else None
    return LegReport(leg, sid, progress, outcome, _seconds(duration) if ended else None)


async def _apply(request: web.Request, report: LegReport | None) -> None:
    if report is None:
        return
    deps = request.app[DEPS]
    async with deps.sessions.begin() as session:
        result = await calls.record_report(
            session=session, call_id=_cid(request), report=report, now=deps.clock.now()
        )
    if result.alarm_id is not None and result.changed:
        deps.told(Changes(alarms=[result.alarm_id]))


async def _leg_status(request: web.Request, form: dict[str, str], leg: Leg) -> web.Response:
    """A leg's status callback, either leg's alike."""
    sid, call_status = form.get("CallSid", ""), form.get("CallStatus", "")
    await _apply(request, leg_report(leg, sid, call_status, form.get("CallDuration")))
    return web.Response(status=204)


@signed
async def status(request: web.Request, form: dict[str, str]) -> web.Response:
    """The operator's leg."""
    return await _leg_status(request, form, Leg.OPERATOR)


@signed
async def party(request: web.Request, form: dict[str, str]) -> web.Response:
    """The other party's leg, as the <Number>'s status callback reports it."""
    return await _leg_status(request, form, Leg.PARTY)


@signed
async def bridge(request: web.Request, form: dict[str, str]) -> web.Response:
    """The operator answered: say whom, then ring them."""
    deps = request.app[DEPS]
    response = VoiceResponse()
    async with deps.sessions() as session:
        call = await calls.get(session=session, call_id=_cid(request))
    if call is None or call.status in {"ended", "failed"}:
        response.hangup()
        return twiml(response)
    await _apply(request, leg_report(Leg.OPERATOR, form.get("CallSid", ""), "in-progress", None))
    speaker, language = voice_of(call.language, deps.settings.notifications.twilio)
    said = catalog.text("call.say_connecting", call.language, name=call.target_name)
    response.say(said, voice=speaker, language=language)
    public = deps.settings.notifications.public_url.rstrip("/")
    dial = Dial(
        caller_id=deps.settings.notifications.twilio.from_number,
        action=f"{public}/twilio/call/{call.id}/dialed",
        method="POST",
        timeout=DIAL_TIMEOUT_S,
    )
    dial.number(
        call.target_phone,
        status_callback=f"{public}/twilio/call/{call.id}/party",
        status_callback_event=_PARTY_EVENTS,
        status_callback_method="POST",
    )
    response.append(dial)
    return twiml(response)


@signed
async def dialed(request: web.Request, form: dict[str, str]) -> web.Response:
    """The <Dial> is over: how, for the timeline (if its leg's own report was lost),
    and in words for the operator when nobody answered."""
    deps = request.app[DEPS]
    dial_status = form.get("DialCallStatus", "")
    # a <Dial> that never made its call (a number refused at once) has no sid of it
    sid = form.get("DialCallSid") or f"dial-{_cid(request)}"
    await _apply(request, leg_report(Leg.PARTY, sid, dial_status, form.get("DialCallDuration")))
    response = VoiceResponse()
    if dial_status not in {"completed", "answered"}:
        async with deps.sessions() as session:
            call = await calls.get(session=session, call_id=_cid(request))
        if call is not None:
            speaker, language = voice_of(call.language, deps.settings.notifications.twilio)
            said = catalog.text("call.say_unanswered", call.language, name=call.target_name)
            response.say(said, voice=speaker, language=language)
    response.hangup()
    return twiml(response)
