"""The Twilio stand-in's <Dial>: the dialled party rung as a child call with the
<Number>'s signed status callbacks, the action told how it ended, and what Twilio
would refuse in a <Dial> reported as a call problem that dials nobody."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from twilio.twiml.voice_response import Dial, VoiceResponse

from simulators.twilio.standin import TEST_AUTH_TOKEN, TwilioStandIn
from tests.simulators.test_twilio_standin import CALLS_PATH, post
from tests.simulators.twilio_receiver import Receiver

OPERATOR = "+8613800000009"
RESIDENT = "+8613700000001"
OURS = "+8653100000000"


def bridge(
    receiver: Receiver,
    number: str = RESIDENT,
    caller_id: str = OURS,
    events: str = "initiated ringing answered completed",
) -> str:
    response = VoiceResponse()
    dial = Dial(caller_id=caller_id, action=receiver.url("/dialed"), timeout=20)
    dial.number(number, status_callback=receiver.url("/party"), status_callback_event=events)
    response.append(dial)
    return str(response)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver(TEST_AUTH_TOKEN) as receiver:
        yield receiver


@pytest.fixture
async def standin() -> AsyncIterator[TwilioStandIn]:
    async with TwilioStandIn(step_s=0.001) as standin:
        yield standin


async def ring_operator(standin: TwilioStandIn, receiver: Receiver) -> str:
    hangup = VoiceResponse()
    hangup.hangup()
    receiver.answers["/dialed"] = str(hangup)
    form = [("To", OPERATOR), ("From", OURS), ("Url", receiver.url("/bridge"))]
    async with aiohttp.ClientSession() as http:
        status, body = await post(http, standin, CALLS_PATH, form)
    assert status == 201, body
    await standin.settle()
    assert all(h.signed for h in receiver.hits)
    return str(body["sid"])


async def test_the_dialled_party_talks_and_the_action_hears_it(
    standin: TwilioStandIn, receiver: Receiver
) -> None:
    receiver.answers["/bridge"] = bridge(receiver)
    standin.person(RESIDENT).talks(95)
    parent = await ring_operator(standin, receiver)
    party = receiver.of("/party")
    assert [h.form["CallStatus"] for h in party] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert {h.form["ParentCallSid"] for h in party} == {parent}
    assert party[-1].form["CallDuration"] == "95"
    (dialed,) = receiver.of("/dialed")
    assert dialed.form["DialCallStatus"] == "completed"
    assert dialed.form["DialCallDuration"] == "95"
    assert dialed.form["DialCallSid"] == party[0].form["CallSid"]
    assert dialed.form["CallSid"] == parent
    assert standin.person(RESIDENT).shown == [OURS]
    assert int(standin.calls[parent]["duration"]) >= 95  # the operator was on as long
    assert standin.call_problems == []


@pytest.mark.parametrize(("script", "final"), [("busy", "busy"), ("never_answers", "no-answer")])
async def test_a_party_who_does_not_answer(
    standin: TwilioStandIn, receiver: Receiver, script: str, final: str
) -> None:
    receiver.answers["/bridge"] = bridge(receiver, events="completed")
    getattr(standin.person(RESIDENT), script)()
    await ring_operator(standin, receiver)
    assert [h.form["CallStatus"] for h in receiver.of("/party")] == [final]
    (dialed,) = receiver.of("/dialed")
    assert dialed.form["DialCallStatus"] == final


@pytest.mark.parametrize(
    ("twiml", "problem"),
    [
        (lambda r: bridge(r, caller_id="operator"), "13214"),
        (lambda r: bridge(r, number="13700000001"), "13223"),
        (lambda r: bridge(r, events="initiated picked-up"), "picked-up"),
    ],
)
async def test_a_dial_twilio_would_refuse_dials_nobody(
    standin: TwilioStandIn, receiver: Receiver, twiml: object, problem: str
) -> None:
    receiver.answers["/bridge"] = twiml(receiver)  # type: ignore[operator]
    await ring_operator(standin, receiver)
    assert receiver.of("/party") == []
    assert receiver.of("/dialed") == []
    assert any(problem in p.message for p in standin.call_problems)
