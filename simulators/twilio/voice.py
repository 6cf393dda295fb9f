"""A call's life after the API accepted it: progress callbacks and the TwiML dialogue.

The person is rung, answers (or not, as scripted), Twilio fetches the TwiML from `Url`
(or takes `Twiml`), speaks each <Say>, and at a <Gather> posts the person's key presses
to its action; the answer is the next TwiML document. <Redirect> fetches the next one,
<Hangup> or the document's end hang up; <Dial> rings another party as a child call
(`simulators.twilio.dial`), then posts to its action. Each fetch is signed like Twilio's.
"""

from __future__ import annotations

import math
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from simulators.twilio.dial import dial
from simulators.twilio.people import Person
from simulators.twilio.records import Form, form_get, form_getall
from simulators.twilio.resources import API_VERSION, rfc2822
from simulators.twilio.state import StandInState

MAX_DOCUMENTS = 20  # a redirect loop ends the call rather than the test run
DEFAULT_RING_TIMEOUT_S = 60
# Amazon voices and the one language each speaks (docs/stack-notes.md: zh-CN is not Zhiyu's)
POLLY_LANGUAGES = {
    "Zhiyu": "cmn-CN",
    "Hiujin": "yue-CN",
    "Joanna": "en-US",
    "Matthew": "en-US",
    "Amy": "en-GB",
    "Brian": "en-GB",
}


@dataclass
class _Call:
    resource: dict[str, Any]
    form: Form
    person: Person
    events: frozenset[str]
    sequence: int = 0
    answered_at: float | None = None
    # seconds talked through <Dial>s: reported in the duration, never waited for
    talked_s: int = 0
    params: dict[str, str] = field(default_factory=dict)


async def run_call(state: StandInState, resource: dict[str, Any], form: Form) -> None:
    """Ring, answer or not, talk, hang up; with status callbacks for the asked events."""
    person = state.person(resource["to"])
    events = frozenset(form_getall(form, "StatusCallbackEvent")) or frozenset({"completed"})
    call = _Call(resource, form, person, events)
    person.shown.append(resource["from"])
    await state.pause()
    await _progress(state, call, "initiated", "initiated")
    await state.pause()
    await _progress(state, call, "ringing", "ringing")
    ring_timeout = int(form_get(form, "Timeout") or DEFAULT_RING_TIMEOUT_S)
    outcome = person.call_outcome
    if outcome == "answer" and person.answer_after_s > ring_timeout:
        outcome = "no-answer"
    if outcome != "answer":
        await state.pause()
        await _progress(state, call, "completed", outcome)
        return
    await state.pause(person.answer_after_s)
    call.answered_at = time.monotonic()
    resource["start_time"] = rfc2822()
    if form_get(form, "MachineDetection"):
        resource["answered_by"] = person.answered_by
    await _progress(state, call, "answered", "in-progress")
    await _converse(state, call)
    await _progress(state, call, "completed", "completed")


async def _progress(state: StandInState, call: _Call, event: str, status: str) -> None:
    resource = call.resource
    resource["status"] = "queued" if status == "initiated" else status
    resource["date_updated"] = rfc2822()
    if event == "completed":
        resource["end_time"] = resource["date_updated"]
        elapsed = 0.0 if call.answered_at is None else time.monotonic() - call.answered_at
        elapsed += call.talked_s
        resource["duration"] = str(math.ceil(elapsed))
    url = form_get(call.form, "StatusCallback")
    if not url or event not in call.events:
        return
    params = _voice_params(call, status)
    params |= {
        "CallbackSource": "call-progress-events",
        "SequenceNumber": str(call.sequence),
        "Timestamp": resource["date_updated"],
    }
    if event == "completed":
        duration = resource["duration"]
        params |= {"CallDuration": duration, "Duration": str(math.ceil(int(duration) / 60))}
    call.sequence += 1
    method = form_get(call.form, "StatusCallbackMethod") or "POST"
    await state.webhook("call-status", url, params, method)


def _voice_params(call: _Call, status: str) -> dict[str, str]:
    resource = call.resource
    params = {
        "AccountSid": resource["account_sid"],
        "ApiVersion": API_VERSION,
        "CallSid": resource["sid"],
        "CallStatus": status,
        "Called": resource["to"],
        "Caller": resource["from"],
        "Direction": "outbound-api",
        "From": resource["from"],
        "To": resource["to"],
    }
    if resource["answered_by"] and status not in {"initiated", "ringing"}:
        params["AnsweredBy"] = resource["answered_by"]
    return params


async def _converse(state: StandInState, call: _Call) -> None:
    url = form_get(call.form, "Url")
    document_url: str | None
    if url:  # Twilio ignores Twiml when both are given
        document_url = url
        twiml = await _fetch(
            state, call, kind="voice", url=url, method=form_get(call.form, "Method") or "POST"
        )
    else:
        document_url, twiml = None, form_get(call.form, "Twiml")
    for _ in range(MAX_DOCUMENTS):
        if twiml is None:
            return
        step = await _perform(state, call, document_url, twiml)
        if step is None:
            return
        document_url, twiml = step
    await state.record_problem(call.resource["sid"], "more than 20 TwiML documents: a loop?")


async def _fetch(
    state: StandInState,
    call: _Call,
    *,
    kind: str,
    url: str,
    method: str,
    extra: dict[str, str] | None = None,
) -> str | None:
    params = _voice_params(call, "in-progress") | (extra or {})
    callback = await state.webhook(kind, url, params, method)
    if callback.ok:
        return callback.body
    why = callback.error or f"HTTP {callback.status}"
    # Twilio: 11200 HTTP retrieval failure; the person hears an error and the call ends
    await state.record_problem(call.resource["sid"], f"11200 {method} {url}: {why}")
    return None


async def _perform(
    state: StandInState, call: _Call, document_url: str | None, twiml: str
) -> tuple[str, str | None] | None:
    """Play one TwiML document; the next (URL, TwiML) when it hands over to another."""
    sid = call.resource["sid"]
    try:
        # TwiML comes only from the service under test
        root = ET.fromstring(twiml)  # noqa: S314
    except ET.ParseError as exc:
        await state.record_problem(sid, f"12100 Document parse failure: {exc}")
        return None
    if root.tag != "Response":
        await state.record_problem(sid, f"12100 the root element is <{root.tag}>, not <Response>")
        return None
    for verb in root:
        if verb.tag == "Say":
            await _say(state, call, verb)
        elif verb.tag == "Gather":
            for child in verb.iter("Say"):
                await _say(state, call, child)
            digits = _take_input(call, verb)
            if digits is not None:
                return await _submit(state, call, document_url, verb, digits)
        elif verb.tag == "Redirect":
            target = _target(document_url, (verb.text or "").strip())
            if target is None:
                await state.record_problem(sid, "<Redirect> to a relative URL from inline Twiml")
                return None
            method = verb.get("method", "POST")
            return target, await _fetch(state, call, kind="redirect", url=target, method=method)
        elif verb.tag == "Dial":
            dialed = await dial(state, call.resource, verb, document_url)
            if dialed is None:
                return None  # Twilio ends the call at a <Dial> it cannot make
            call.talked_s += dialed.duration_s
            if dialed.action is not None:
                extra = dialed.action_params()
                method = dialed.method
                body = await _fetch(
                    state, call, kind="dial-action", url=dialed.action, method=method, extra=extra
                )
                return dialed.action, body
        elif verb.tag in {"Hangup", "Reject"}:
            return None
        elif verb.tag not in {"Pause", "Play"}:
            await state.record_problem(sid, f"<{verb.tag}> is not simulated; skipped")
    return None


def _take_input(call: _Call, verb: ET.Element) -> str | None:
    """The keys pressed at a <Gather>; None to go on with the next verb, as Twilio does."""
    # a machine presses nothing
    digits = call.person.next_digits() if call.person.answered_by == "human" else None
    if digits is None:
        return "" if verb.get("actionOnEmptyResult") == "true" else None
    num_digits = verb.get("numDigits", "")
    return digits[: int(num_digits)] if num_digits.isdigit() else digits


async def _submit(
    state: StandInState, call: _Call, document_url: str | None, verb: ET.Element, digits: str
) -> tuple[str, str | None] | None:
    sid = call.resource["sid"]
    num_digits = verb.get("numDigits")
    if num_digits is not None and not (num_digits.isdigit() and int(num_digits) > 0):
        await state.record_problem(sid, f"<Gather numDigits={num_digits!r}> is not a count")
        return None
    action = _target(document_url, verb.get("action", ""))
    if action is None:
        await state.record_problem(sid, "<Gather> in inline Twiml needs an absolute action")
        return None
    extra = {"Digits": digits, "FinishedOnKey": "", "msg": "Gather End"}
    await state.pause()
    method = verb.get("method", "POST")
    body = await _fetch(state, call, kind="gather", url=action, method=method, extra=extra)
    return action, body


async def _say(state: StandInState, call: _Call, verb: ET.Element) -> None:
    problem = say_problem(verb.get("voice"), verb.get("language"))
    if problem:
        # Twilio fails the instruction: the person hears nothing of it
        await state.record_problem(call.resource["sid"], problem)
        return
    call.person.heard.append((verb.text or "").strip())


def say_problem(voice: str | None, language: str | None) -> str | None:
    """Why Twilio would fail a <Say> with this voice and language, if it would."""
    if not voice or not language:
        return None
    family, _, name = voice.partition(".")
    if family == "Google":
        spoken = "-".join(name.split("-")[:2])
    elif family == "Polly":
        spoken = POLLY_LANGUAGES.get(name.split("-")[0], language)
    else:
        return None
    if spoken != language:
        return f"13520 <Say voice={voice!r}> speaks {spoken}, not language={language!r}"
    return None


def _target(document_url: str | None, url: str) -> str | None:
    """A verb's URL, relative ones resolved against the current document (Twilio's rule)."""
    if document_url:
        return urljoin(document_url, url)
    return url if urlsplit(url).scheme in {"http", "https"} else None
