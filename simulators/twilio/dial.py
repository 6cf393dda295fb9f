"""A TwiML <Dial> in a call: the other party rung as a child call, as Twilio does.

What Twilio would fail is recorded as a call problem and dials nobody: a callerId that
is not a phone number, a timeout outside 5-600, a number not in E.164 form (or more than
one <Number>: we dial one), a status callback event Twilio does not know. The child call
plays the party's script (answers, talks N seconds, busy, no answer, unreachable) with
the <Number>'s signed status callbacks, `ParentCallSid` naming the operator's call.
Talk time is reported, not waited for.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from simulators.twilio.resources import API_VERSION, new_sid, rfc2822
from simulators.twilio.rules import dialable
from simulators.twilio.state import StandInState

EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
DEFAULT_TIMEOUT_S = 30


@dataclass(frozen=True)
class Dialed:
    """How the <Dial> ended: what its action hears (DialCallStatus, ...)."""

    status: str  # completed, busy, no-answer, failed
    child_sid: str | None
    duration_s: int
    action: str | None
    method: str

    def action_params(self) -> dict[str, str]:
        params = {"DialCallStatus": self.status, "DialBridged": str(self.status == "completed")}
        if self.child_sid is not None:
            params["DialCallSid"] = self.child_sid
            params["DialCallDuration"] = str(self.duration_s)
        return params


def _url(document_url: str | None, url: str) -> str | None:
    if document_url:
        return urljoin(document_url, url)
    return url if urlsplit(url).scheme in {"http", "https"} else None


def _problems(verb: ET.Element, number: str | None, events: list[str]) -> list[str]:
    found = []
    caller_id = verb.get("callerId")
    if caller_id is not None and not dialable(caller_id):
        found.append(f"13214 <Dial callerId={caller_id!r}> is not a valid caller id")
    timeout = verb.get("timeout", str(DEFAULT_TIMEOUT_S))
    if not timeout.isdigit() or not 5 <= int(timeout) <= 600:
        found.append(f"<Dial timeout={timeout!r}>: 5 to 600 seconds")
    if number is None or not dialable(number):
        found.append(f"13223 <Dial> number {number!r} is not in E.164 form")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        found.append(f"<Number statusCallbackEvent> does not know {', '.join(unknown)}")
    return found


async def dial(
    state: StandInState, parent: dict[str, Any], verb: ET.Element, document_url: str | None
) -> Dialed | None:
    """Ring the <Dial>'s number from the call `parent`; None when Twilio would refuse it."""
    numbers = verb.findall("Number")
    if len(numbers) > 1:
        await state.record_problem(parent["sid"], "<Dial> with several <Number>: not simulated")
        return None
    noun = numbers[0] if numbers else None
    number = ((noun.text if noun is not None else verb.text) or "").strip() or None
    events = (noun.get("statusCallbackEvent", "") if noun is not None else "").split()
    problems = _problems(verb, number, events)
    action = verb.get("action")
    action_url = _url(document_url, action) if action else None
    if action and action_url is None:
        problems.append("<Dial action> in inline Twiml must be absolute")
    callback = noun.get("statusCallback") if noun is not None else None
    callback_url = _url(document_url, callback) if callback else None
    if callback and callback_url is None:
        problems.append("<Number statusCallback> in inline Twiml must be absolute")
    for problem in problems:
        await state.record_problem(parent["sid"], problem)
    if problems or number is None:
        return None
    child = _child(parent, number, verb.get("callerId") or parent["from"])
    state.calls[child["sid"]] = child
    leg = _Leg(state, child, callback_url, frozenset(events or ["completed"]), noun)
    status, duration = await leg.run(int(verb.get("timeout", str(DEFAULT_TIMEOUT_S))))
    return Dialed(status, child["sid"], duration, action_url, verb.get("method", "POST"))


def _child(parent: dict[str, Any], number: str, caller_id: str) -> dict[str, Any]:
    now = rfc2822()
    return {
        "account_sid": parent["account_sid"],
        "sid": new_sid("CA"),
        "parent_call_sid": parent["sid"],
        "direction": "outbound-dial",
        "from": caller_id,
        "to": number,
        "status": "queued",
        "date_created": now,
        "date_updated": now,
        "start_time": None,
        "end_time": None,
        "duration": None,
        "api_version": API_VERSION,
    }


class _Leg:
    def __init__(
        self,
        state: StandInState,
        resource: dict[str, Any],
        callback: str | None,
        events: frozenset[str],
        noun: ET.Element | None,
    ) -> None:
        self.state, self.resource = state, resource
        self.callback, self.events = callback, events
        self.method = noun.get("statusCallbackMethod", "POST") if noun is not None else "POST"
        self.sequence = 0

    async def run(self, timeout_s: int) -> tuple[str, int]:
        """(DialCallStatus, seconds talked)."""
        person = self.state.person(self.resource["to"])
        person.shown.append(self.resource["from"])
        await self.state.pause()
        await self._event("initiated", "initiated")
        await self.state.pause()
        await self._event("ringing", "ringing")
        outcome = person.call_outcome
        if outcome == "answer" and person.answer_after_s > timeout_s:
            outcome = "no-answer"
        if outcome != "answer":
            await self.state.pause()
            await self._event("completed", outcome)
            return outcome, 0
        await self.state.pause(person.answer_after_s)
        self.resource["start_time"] = rfc2822()
        await self._event("answered", "in-progress")
        await self.state.pause()
        await self._event("completed", "completed", duration=person.talk_s)
        return "completed", person.talk_s

    async def _event(self, event: str, status: str, duration: int = 0) -> None:
        resource = self.resource
        resource["status"] = "queued" if status == "initiated" else status
        resource["date_updated"] = rfc2822()
        if event == "completed":
            resource["end_time"] = resource["date_updated"]
            resource["duration"] = str(duration)
        if not self.callback or event not in self.events:
            return
        params = {
            "AccountSid": resource["account_sid"],
            "ApiVersion": API_VERSION,
            "CallSid": resource["sid"],
            "ParentCallSid": resource["parent_call_sid"],
            "CallStatus": status,
            "Called": resource["to"],
            "Caller": resource["from"],
            "Direction": "outbound-dial",
            "From": resource["from"],
            "To": resource["to"],
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self.sequence),
            "Timestamp": resource["date_updated"],
        }
        if event == "completed":
            params |= {"CallDuration": str(duration), "Duration": str(-(-duration // 60))}
        self.sequence += 1
        await self.state.webhook("dial-status", self.callback, params, self.method)
