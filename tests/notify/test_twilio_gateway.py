"""The real Twilio SDK, through our gateway, against the stand-in over HTTP.

Every request the SDK sends is checked by the stand-in against Twilio's OpenAPI
description; every webhook back is checked for Twilio's signature.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import AsyncIterator

import pytest

from dispatcher.notify.errors import PermanentFailure, TemporaryFailure, UnknownOutcome
from dispatcher.notify.twilio import TwilioGateway
from simulators.twilio.standin import TEST_AUTH_TOKEN, TwilioStandIn
from tests.simulators.twilio_receiver import ASK, THANKS, Receiver

OUR_NUMBER = "+8653100000000"
DAUGHTER = "+8613900000001"
NEIGHBOUR = "+8613900000002"
NO_SUCH_NUMBER = "+8613900000099"
ALARM_TEXT = (
    "【紧急】王秀英（天桥区纬北路12号3单元201）按了紧急按钮，请尽快联系。回复1表示您去处理。"
)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver(TEST_AUTH_TOKEN) as receiver:
        yield receiver


@pytest.fixture
async def standin(receiver: Receiver) -> AsyncIterator[TwilioStandIn]:
    async with TwilioStandIn(
        sms_url=receiver.url("/sms"), invalid_numbers=[NO_SUCH_NUMBER]
    ) as standin:
        yield standin


@pytest.fixture
async def gateway(standin: TwilioStandIn) -> AsyncIterator[TwilioGateway]:
    gateway = TwilioGateway(
        standin.base_url, standin.account_sid, standin.auth_token, OUR_NUMBER, timeout_s=2.0
    )
    async with gateway:
        yield gateway


def assert_all_valid(standin: TwilioStandIn) -> None:
    assert standin.requests
    for request in standin.requests:
        assert request.authorized
        assert request.problems == (), request.problems
        assert request.status == 201, request.response


async def test_a_chinese_sms_is_accepted_as_twilio_would(
    standin: TwilioStandIn, gateway: TwilioGateway, receiver: Receiver
) -> None:
    sid = await gateway.send_sms(DAUGHTER, ALARM_TEXT, receiver.url("/sms-status"))

    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    assert_all_valid(standin)
    [request] = standin.requests
    assert request.get("Body") == ALARM_TEXT
    assert (request.get("To"), request.get("From")) == (DAUGHTER, OUR_NUMBER)
    assert request.response["status"] == "queued"


async def test_a_call_is_accepted_as_twilio_would(
    standin: TwilioStandIn, gateway: TwilioGateway, receiver: Receiver
) -> None:
    sid = await gateway.place_call(DAUGHTER, receiver.url("/twiml"), receiver.url("/call-status"))

    assert re.fullmatch(r"CA[0-9a-f]{32}", sid)
    assert_all_valid(standin)
    [request] = standin.requests
    assert request.get("Url") == receiver.url("/twiml")
    events = request.getall("StatusCallbackEvent")
    assert events == ["initiated", "ringing", "answered", "completed"]


async def test_sms_status_callbacks_arrive_signed_and_in_order(
    standin: TwilioStandIn, gateway: TwilioGateway, receiver: Receiver
) -> None:
    sid = await gateway.send_sms(DAUGHTER, ALARM_TEXT, receiver.url("/sms-status"))

    await receiver.wait_for(
        lambda: any(h.form["MessageStatus"] == "delivered" for h in receiver.of("/sms-status"))
    )
    hits = receiver.of("/sms-status")
    assert [h.form["MessageStatus"] for h in hits] == ["queued", "sent", "delivered"]
    assert all(h.signed for h in hits)
    assert {h.form["MessageSid"] for h in hits} == {sid}
    assert standin.person(DAUGHTER).inbox == [ALARM_TEXT]


async def test_a_relative_presses_1_and_the_service_hears_it(
    standin: TwilioStandIn, gateway: TwilioGateway, receiver: Receiver
) -> None:
    standin.person(DAUGHTER).answers_after(0.05).presses("1")

    sid = await gateway.place_call(DAUGHTER, receiver.url("/twiml"), receiver.url("/call-status"))

    await receiver.wait_for(
        lambda: any(h.form["CallStatus"] == "completed" for h in receiver.of("/call-status"))
    )
    [fetch] = receiver.of("/twiml")
    assert fetch.signed
    assert fetch.form["CallSid"] == sid
    assert fetch.form["CallStatus"] == "in-progress"
    assert fetch.form["Direction"] == "outbound-api"
    assert (fetch.form["From"], fetch.form["To"]) == (OUR_NUMBER, DAUGHTER)
    [press] = receiver.of("/gather")
    assert press.signed
    assert press.form["Digits"] == "1"
    assert press.form["CallSid"] == sid
    statuses = [h.form["CallStatus"] for h in receiver.of("/call-status")]
    assert statuses == ["initiated", "ringing", "in-progress", "completed"]
    assert all(h.signed for h in receiver.of("/call-status"))
    assert standin.person(DAUGHTER).heard == [ASK, THANKS]
    assert standin.call_problems == []


async def test_an_sms_reply_reaches_the_service_signed(
    standin: TwilioStandIn, gateway: TwilioGateway, receiver: Receiver
) -> None:
    standin.person(NEIGHBOUR).replies_sms("1")

    await gateway.send_sms(NEIGHBOUR, ALARM_TEXT, receiver.url("/sms-status"))

    await receiver.wait_for(lambda: bool(receiver.of("/sms")))
    [reply] = receiver.of("/sms")
    assert reply.signed
    assert (reply.form["From"], reply.form["To"]) == (NEIGHBOUR, OUR_NUMBER)
    assert reply.form["Body"] == "1"


@pytest.mark.parametrize("number", [NO_SUCH_NUMBER, "13900000001", "+86 139 0000 0001"])
async def test_an_invalid_number_is_a_permanent_failure(
    gateway: TwilioGateway, number: str
) -> None:
    with pytest.raises(PermanentFailure) as raised:
        await gateway.send_sms(number, ALARM_TEXT, None)
    assert raised.value.code == 21211

    with pytest.raises(PermanentFailure) as raised:
        await gateway.place_call(number, "https://dispatch.example.org/twiml", None)
    assert raised.value.code == 21211


@pytest.mark.parametrize("code", [21610, 21612, 21614])
async def test_a_refused_recipient_is_a_permanent_failure(
    standin: TwilioStandIn, gateway: TwilioGateway, code: int
) -> None:
    standin.person(DAUGHTER).rejected_with(code)

    with pytest.raises(PermanentFailure) as raised:
        await gateway.send_sms(DAUGHTER, ALARM_TEXT, None)
    assert raised.value.code == code


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_server_trouble_is_a_temporary_failure(
    standin: TwilioStandIn, gateway: TwilioGateway, status: int
) -> None:
    standin.fail_next(1, status=status)

    with pytest.raises(TemporaryFailure) as raised:
        await gateway.send_sms(DAUGHTER, ALARM_TEXT, None)
    assert raised.value.status == status

    # the retry goes through
    assert (await gateway.send_sms(DAUGHTER, ALARM_TEXT, None)).startswith("SM")


async def test_a_stalled_answer_is_an_unknown_outcome(
    standin: TwilioStandIn, receiver: Receiver
) -> None:
    standin.delay_next(1, seconds=3.0)
    gateway = TwilioGateway(
        standin.base_url, standin.account_sid, standin.auth_token, OUR_NUMBER, timeout_s=0.2
    )
    async with gateway:
        started = time.monotonic()
        with pytest.raises(UnknownOutcome):  # Twilio may make the call all the same
            await gateway.place_call(DAUGHTER, receiver.url("/twiml"), None)
        assert time.monotonic() - started < 1.5
        # the next request is not stalled
        assert (await gateway.place_call(NEIGHBOUR, receiver.url("/twiml"), None)).startswith("CA")


async def test_wrong_credentials_wait_for_a_fix(standin: TwilioStandIn) -> None:
    gateway = TwilioGateway(
        standin.base_url, standin.account_sid, "not-the-token", OUR_NUMBER, timeout_s=2.0
    )
    async with gateway:
        with pytest.raises(TemporaryFailure) as raised:
            await gateway.send_sms(DAUGHTER, ALARM_TEXT, None)
    assert (raised.value.status, raised.value.code) == (401, 20003)
    assert not standin.requests[-1].authorized


async def test_no_twilio_at_all_is_a_temporary_failure() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gateway = TwilioGateway(f"http://127.0.0.1:{port}", "AC" + "0" * 32, "t", OUR_NUMBER, 2.0)
    async with gateway:
        with pytest.raises(TemporaryFailure):
            await gateway.send_sms(DAUGHTER, ALARM_TEXT, None)


async def test_api_base_with_a_path_prefix(receiver: Receiver) -> None:
    gateway = TwilioGateway(receiver.url("/mock"), "AC" + "0" * 32, "t", OUR_NUMBER, 2.0)
    receiver.answers["/mock/2010-04-01/Accounts/AC" + "0" * 32 + "/Messages.json"] = "{"
    async with gateway:
        with pytest.raises(TemporaryFailure):  # 200 with a body that is not JSON
            await gateway.send_sms(DAUGHTER, ALARM_TEXT, None)
    [hit] = receiver.hits
    assert hit.path == "/mock/2010-04-01/Accounts/AC" + "0" * 32 + "/Messages.json"
    assert hit.form["Body"] == ALARM_TEXT
