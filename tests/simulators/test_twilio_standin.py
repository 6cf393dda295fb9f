"""The Twilio stand-in: the spec check on its own, then the stand-in over raw HTTP."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from simulators.twilio.spec import CALLS, MESSAGES, validate_form, validate_request
from simulators.twilio.standin import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TwilioStandIn
from simulators.twilio.voice import say_problem
from tests.simulators.twilio_receiver import ASK, NO_INPUT, Receiver

MESSAGES_PATH = MESSAGES.replace("{AccountSid}", TEST_ACCOUNT_SID)
CALLS_PATH = CALLS.replace("{AccountSid}", TEST_ACCOUNT_SID)
SMS = [("To", "+8613900000001"), ("From", "+8653100000000"), ("Body", "你好")]
CALL = [("To", "+8613900000001"), ("From", "+8653100000000"), ("Url", "https://x.example/t")]
PERSON = "+8613900000001"


# the spec check, on hand-made requests


def test_a_plain_sms_and_call_are_valid() -> None:
    assert validate_request(MESSAGES_PATH, SMS) == []
    events = [("StatusCallbackEvent", e) for e in ("initiated", "answered", "completed")]
    assert validate_request(CALLS_PATH, [*CALL, *events, ("Timeout", "30")]) == []


def test_a_missing_to_is_named() -> None:
    [problem] = validate_form(MESSAGES, SMS[1:])
    assert (problem.field, problem.kind) == ("To", "missing")
    assert {(p.field, p.kind) for p in validate_form(CALLS, CALL[2:])} == {
        ("To", "missing"),
        ("From", "missing"),
    }


def test_an_unknown_field_is_refused() -> None:
    [problem] = validate_form(MESSAGES, [*SMS, ("StatusCallBack", "https://x.example/s")])
    assert (problem.field, problem.kind) == ("StatusCallBack", "unknown")


@pytest.mark.parametrize(
    "url",
    ["not a url", "ftp://x.example/s", "/relative/path", "https://under_score.example/s", ""],
)
def test_a_bad_status_callback_url_is_refused(url: str) -> None:
    [problem] = validate_form(MESSAGES, [*SMS, ("StatusCallback", url)])
    assert (problem.field, problem.kind) == ("StatusCallback", "format")


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("To", "13900000001", "format"),  # no + and country code
        ("Method", "PUT", "enum"),
        ("Timeout", "soon", "type"),
        ("Record", "yes", "type"),
        ("Twiml", "<Say>hi</Say>", "format"),
        ("Twiml", "<Response><Say>", "format"),
        ("ApplicationSid", "AP123", "length"),
    ],
)
def test_call_fields_are_checked(field: str, value: str, kind: str) -> None:
    form = [(k, v) for k, v in CALL if k != field] + [(field, value)]
    assert [(p.field, p.kind) for p in validate_form(CALLS, form)] == [(field, kind)]


def test_a_repeated_single_field_and_a_bad_account_are_refused() -> None:
    assert [p.kind for p in validate_form(MESSAGES, [*SMS, ("Body", "again")])] == ["repeated"]
    bad_path = MESSAGES.replace("{AccountSid}", "AC123")
    assert [p.field for p in validate_request(bad_path, SMS)] == ["AccountSid"]
    assert [p.kind for p in validate_request("/2010-04-01/Calls.json", SMS)] == ["path"]


def test_say_voice_and_language_must_match() -> None:
    assert say_problem("Polly.Zhiyu", "cmn-CN") is None
    assert say_problem("Polly.Zhiyu", "zh-CN") is not None
    assert say_problem("Google.cmn-CN-Standard-A", "cmn-CN") is None
    assert say_problem("alice", "zh-CN") is None


# the stand-in over HTTP


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver(TEST_AUTH_TOKEN) as receiver:
        yield receiver


@pytest.fixture
async def standin(receiver: Receiver) -> AsyncIterator[TwilioStandIn]:
    async with TwilioStandIn(sms_url=receiver.url("/sms"), step_s=0.001) as standin:
        yield standin


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def basic_auth(token: str) -> dict[str, str]:
    pair = base64.b64encode(f"{TEST_ACCOUNT_SID}:{token}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


async def post(
    http: aiohttp.ClientSession,
    standin: TwilioStandIn,
    path: str,
    form: list[tuple[str, str]],
    token: str = TEST_AUTH_TOKEN,
) -> tuple[int, dict[str, Any]]:
    auth = basic_auth(token)
    async with http.post(standin.base_url + path, data=form, headers=auth) as resp:
        return resp.status, await resp.json()


async def test_wrong_credentials_get_twilios_401(
    standin: TwilioStandIn, http: aiohttp.ClientSession
) -> None:
    status, body = await post(http, standin, MESSAGES_PATH, SMS, token="wrong")
    assert status == 401
    assert body["code"] == 20003
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20003"
    assert {"message", "status"} <= body.keys()


@pytest.mark.parametrize(
    ("path", "form", "code"),
    [
        (MESSAGES_PATH, SMS[1:], 21604),
        (MESSAGES_PATH, [("To", "+86139"), *SMS[1:]], 21211),
        (MESSAGES_PATH, SMS[:2], 21602),
        (MESSAGES_PATH, [SMS[0], SMS[2]], 21603),
        (MESSAGES_PATH, [*SMS[:2], ("Body", "x" * 1601)], 21617),
        (MESSAGES_PATH, [*SMS, ("StatusCallback", "callback")], 21609),
        (MESSAGES_PATH, [*SMS, ("Colour", "red")], 20001),
        (CALLS_PATH, CALL[1:], 21201),
        (CALLS_PATH, [CALL[0], CALL[2]], 21213),
        (CALLS_PATH, CALL[:2], 21205),
        (CALLS_PATH, [*CALL[:2], ("Url", "twiml")], 21205),
    ],
)
async def test_requests_twilio_would_refuse_get_its_error(
    standin: TwilioStandIn,
    http: aiohttp.ClientSession,
    path: str,
    form: list[tuple[str, str]],
    code: int,
) -> None:
    status, body = await post(http, standin, path, form)
    assert (status, body["code"], body["status"]) == (400, code, 400)
    assert body["more_info"].endswith(str(code))
    assert standin.requests[-1].status == 400


async def test_a_message_can_be_fetched_after_delivery(
    standin: TwilioStandIn, http: aiohttp.ClientSession
) -> None:
    status, created = await post(http, standin, MESSAGES_PATH, SMS)
    assert (status, created["status"], created["body"]) == (201, "queued", "你好")
    await standin.settle()
    auth = basic_auth(TEST_AUTH_TOKEN)
    url = f"{standin.base_url}{created['uri']}"
    async with http.get(url, headers=auth) as resp:
        assert (await resp.json())["status"] == "delivered"


async def test_an_undelivered_sms_reports_its_error_code(
    standin: TwilioStandIn, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    standin.person(PERSON).sms_undelivered(30003)
    await post(http, standin, MESSAGES_PATH, [*SMS, ("StatusCallback", receiver.url("/s"))])
    await standin.settle()
    hits = receiver.of("/s")
    assert [h.form["MessageStatus"] for h in hits] == ["queued", "sent", "undelivered"]
    assert hits[-1].form["ErrorCode"] == "30003"
    assert standin.person(PERSON).inbox == []


async def call_and_settle(
    standin: TwilioStandIn, http: aiohttp.ClientSession, receiver: Receiver
) -> list[str]:
    form = [
        *CALL[:2],
        ("Url", receiver.url("/twiml")),
        ("StatusCallback", receiver.url("/c")),
        *[("StatusCallbackEvent", e) for e in ("initiated", "ringing", "answered", "completed")],
    ]
    status, _ = await post(http, standin, CALLS_PATH, form)
    assert status == 201
    await standin.settle()
    assert all(h.signed for h in receiver.hits)
    return [h.form["CallStatus"] for h in receiver.of("/c")]


async def test_a_person_who_declines_presses_2(
    standin: TwilioStandIn, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    standin.person(PERSON).declines()
    assert await call_and_settle(standin, http, receiver) == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [h.form["Digits"] for h in receiver.of("/gather")] == ["2"]


async def test_no_key_pressed_plays_on_after_the_gather(
    standin: TwilioStandIn, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await call_and_settle(standin, http, receiver)
    assert receiver.of("/gather") == []
    assert standin.person(PERSON).heard == [ASK, NO_INPUT]


@pytest.mark.parametrize(
    ("script", "final"),
    [("never_answers", "no-answer"), ("busy", "busy"), ("unreachable", "failed")],
)
async def test_calls_that_nobody_answers(
    standin: TwilioStandIn,
    http: aiohttp.ClientSession,
    receiver: Receiver,
    script: str,
    final: str,
) -> None:
    getattr(standin.person(PERSON), script)()
    assert await call_and_settle(standin, http, receiver) == ["initiated", "ringing", final]
    assert receiver.of("/twiml") == []


async def test_a_say_in_the_wrong_language_is_reported(
    standin: TwilioStandIn, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    receiver.answers["/twiml"] = (
        '<Response><Say voice="Polly.Zhiyu" language="zh-CN">你好</Say>'
        '<Say voice="Polly.Zhiyu" language="cmn-CN">再见</Say></Response>'
    )
    await call_and_settle(standin, http, receiver)
    assert standin.person(PERSON).heard == ["再见"]
    [problem] = standin.call_problems
    assert "zh-CN" in problem.message


async def test_an_inbound_sms_and_its_twiml_reply(
    standin: TwilioStandIn, receiver: Receiver
) -> None:
    receiver.answers["/sms"] = "<Response><Message>已收到，谢谢。</Message></Response>"
    callback = await standin.send_inbound_sms(PERSON, "+8653100000000", "1")
    assert callback.ok
    [hit] = receiver.of("/sms")
    assert hit.signed
    assert (hit.form["Body"], hit.form["SmsStatus"]) == ("1", "received")
    assert standin.person(PERSON).inbox == ["已收到，谢谢。"]
