"""The Alibaba Cloud stand-in refuses what Alibaba Cloud refuses, with its error codes,
driven by the dispatcher's gateway on Alibaba Cloud's own SDK (and by hand, for what the
SDK never sends)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from dispatcher.notify.aliyun import AliyunGateway, Key
from dispatcher.notify.errors import NotificationError, PermanentFailure, TemporaryFailure
from simulators.aliyun.standin import TEST_KEY_ID, TEST_KEY_SECRET, AliyunStandIn

WORKER = "+8613800000002"
VALUES = {"name": "王秀英", "address": "天桥区纬北路12号", "what": "按下紧急呼叫", "code": "23"}


PUBLIC = "https://dispatch.example.gov.cn"


def _printed(*more: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "dispatcher.cli", "templates", "--format", "json", *more],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found: list[dict[str, Any]] = json.loads(out)
    return found


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return _printed()


@pytest.fixture(scope="module")
def linked_rows() -> list[dict[str, Any]]:
    """With the templates that end with a responder link of `PUBLIC`."""
    return _printed("--public-url", PUBLIC)


@pytest.fixture
async def standin(rows: list[dict[str, Any]]) -> AsyncIterator[AliyunStandIn]:
    async with AliyunStandIn(rows, sign_name="一键通") as s:
        yield s


def gateway(s: AliyunStandIn, **kw: str) -> AliyunGateway:
    args = {
        "endpoint": s.base_url,
        "voice_endpoint": s.base_url,
        "access_key_id": TEST_KEY_ID,
        "access_key_secret": TEST_KEY_SECRET,
        "sign_name": "一键通",
        "called_show_number": "053188880000",
    } | kw
    return AliyunGateway(timeout_s=3.0, **args)


async def refused(s: AliyunStandIn, send: Any) -> tuple[str, NotificationError]:
    with pytest.raises(NotificationError) as caught:
        await send
    return s.refused[-1].code, caught.value


async def test_an_sms_by_template_is_taken_and_worded_behind_the_sign_name(
    standin: AliyunStandIn,
) -> None:
    biz_id = await gateway(standin).send_sms(WORKER, standin.codes["sms_step"], VALUES, "7")
    assert biz_id
    sms = standin.sms[-1]
    assert sms["phone"] == "13800000002"  # Alibaba Cloud's form: no +86
    assert sms["text"].startswith("【一键通】王秀英（天桥区纬北路12号）按下紧急呼叫。")
    assert sms["out_id"] == "7"


@pytest.mark.parametrize(
    ("change", "code", "permanent"),
    [
        ({"access_key_secret": "not-the-secret"}, "SignatureDoesNotMatch", False),
        ({"access_key_id": "LTAI-unknown"}, "InvalidAccessKeyId.NotFound", False),
        ({"sign_name": "别的签名"}, "isv.SMS_SIGNATURE_ILLEGAL", True),
    ],
)
async def test_credentials_and_sign_name_are_checked(
    standin: AliyunStandIn, change: dict[str, str], code: str, permanent: bool
) -> None:
    got, error = await refused(
        standin, gateway(standin, **change).send_sms(WORKER, standin.codes["sms_step"], VALUES, "1")
    )
    assert got == code
    assert isinstance(error, PermanentFailure if permanent else TemporaryFailure)
    assert standin.sms == []


@pytest.mark.parametrize(
    ("phone", "template", "values", "code"),
    [
        ("+447700900123", "sms_step", VALUES, "isv.MOBILE_NUMBER_ILLEGAL"),
        ("+8612345", "sms_step", VALUES, "isv.MOBILE_NUMBER_ILLEGAL"),
        (WORKER, "SMS_999999", VALUES, "isv.SMS_TEMPLATE_ILLEGAL"),
        (WORKER, "voice_alarm", VALUES, "isv.SMS_TEMPLATE_ILLEGAL"),  # a voice one
        (WORKER, "sms_step", {"name": "王秀英"}, "isv.TEMPLATE_MISSING_PARAMETERS"),
        (WORKER, "sms_step", VALUES | {"code": " "}, "isv.TEMPLATE_MISSING_PARAMETERS"),
        (WORKER, "sms_step", VALUES | {"address": "号" * 36}, "isv.PARAM_LENGTH_LIMIT"),
        # a link's address is the template's text: never a variable's
        (
            WORKER,
            "sms_step",
            VALUES | {"what": "详见 https://x.cn/r/a"},
            "isv.PARAM_NOT_SUPPORT_URL",
        ),
        (WORKER, "sms_step", VALUES | {"what": "详见 WWW.x.cn"}, "isv.PARAM_NOT_SUPPORT_URL"),
    ],
)
async def test_numbers_templates_and_variables_are_checked(
    standin: AliyunStandIn, phone: str, template: str, values: dict[str, str], code: str
) -> None:
    template_code = standin.codes.get(template, template)
    got, error = await refused(
        standin, gateway(standin).send_sms(phone, template_code, values, "1")
    )
    assert got == code
    assert isinstance(error, PermanentFailure)


async def test_a_template_ending_with_the_link_takes_its_token(
    linked_rows: list[dict[str, Any]],
) -> None:
    token = "Ab-_" + "c" * 18  # 22 characters, as responder links have
    async with AliyunStandIn(linked_rows, sign_name="一键通") as s:
        code = s.codes["sms_step_link"]
        assert await gateway(s).send_sms(WORKER, code, VALUES | {"link": token}, "1")
        assert s.sms[-1]["text"].endswith(f"。 {PUBLIC}/r/{token}")
        # without its token: refused, as any variable missing is
        got, _ = await refused(s, gateway(s).send_sms(WORKER, code, VALUES, "2"))
        assert got == "isv.TEMPLATE_MISSING_PARAMETERS"
        # the whole link in a variable: over the limit, and an address besides
        whole = {"link": f"{PUBLIC}/r/{token}"}
        got, _ = await refused(s, gateway(s).send_sms(WORKER, code, VALUES | whole, "3"))
        assert got == "isv.PARAM_LENGTH_LIMIT"
        short = {"link": f"http://x.cn/r/{token[:8]}"}
        got, _ = await refused(s, gateway(s).send_sms(WORKER, code, VALUES | short, "4"))
        assert got == "isv.PARAM_NOT_SUPPORT_URL"


async def test_flow_control_is_worth_a_retry(standin: AliyunStandIn) -> None:
    standin.fail_next("isv.BUSINESS_LIMIT_CONTROL")
    got, error = await refused(
        standin, gateway(standin).send_sms(WORKER, standin.codes["sms_step"], VALUES, "1")
    )
    assert got == "isv.BUSINESS_LIMIT_CONTROL"
    assert isinstance(error, TemporaryFailure)


async def test_a_call_takes_its_key_map_and_refuses_an_unknown_template(
    standin: AliyunStandIn,
) -> None:
    c = standin.codes
    said = {k: VALUES[k] for k in ("name", "address", "what")}
    g = gateway(standin)
    call_id = await g.ivr_call(
        WORKER,
        Key("", c["voice_alarm"], said),
        [Key("1", c["voice_taken"]), Key("9", c["voice_alarm"], said)],
        bye_code=c["voice_no_key"],
        out_id="8",
    )
    assert call_id
    call = standin.calls[-1]
    assert call["keys"]["1"] == (c["voice_taken"], None)
    assert call["said"].startswith("这里是一键通紧急援助中心。王秀英")
    got, _ = await refused(
        standin, g.ivr_call(WORKER, Key("", c["sms_step"], said), [], bye_code=None, out_id="9")
    )
    assert got == "isv.TTS_TEMPLATE_ILLEGAL"
    no_show = gateway(standin, called_show_number="")
    got, _ = await refused(
        standin,
        no_show.ivr_call(WORKER, Key("", c["voice_alarm"], said), [], bye_code=None, out_id="9"),
    )
    assert got == "isv.DISPLAY_NUMBER_ILLEGAL"


async def test_an_unsigned_request_is_refused(standin: AliyunStandIn) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{standin.base_url}/?PhoneNumbers=13800000002", headers={"x-acs-action": "SendSms"}
        ) as response,
    ):
        assert response.status == 400
        assert (await response.json())["Code"] == "MissingAuthorization"
    assert standin.sms == []
