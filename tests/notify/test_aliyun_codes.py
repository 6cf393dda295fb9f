"""Alibaba Cloud's answers, sorted: what can never go this way, what may go later; and
its call status codes as the statuses the Twilio path tracks."""

from __future__ import annotations

import pytest

from dispatcher.notify.aliyun import classify, national
from dispatcher.notify.errors import PermanentFailure, TemporaryFailure
from dispatcher.web.aliyun_hooks import CALL_PROGRESS, call_end


@pytest.mark.parametrize(
    "code",
    [
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.PARAM_LENGTH_LIMIT",
        "NO_TEMPLATE",
    ],
)
def test_a_wrong_message_never_goes_this_way(code: str) -> None:
    assert isinstance(classify(code, "x"), PermanentFailure)


@pytest.mark.parametrize(
    "code",
    [
        "isv.BUSINESS_LIMIT_CONTROL",
        "isp.SYSTEM_ERROR",
        "SignatureDoesNotMatch",
        "isv.AMOUNT_NOT_ENOUGH",
        "new.CODE",
    ],
)
def test_flow_control_system_and_account_trouble_may_pass(code: str) -> None:
    assert isinstance(classify(code, "x"), TemporaryFailure)


def test_call_codes_read_as_the_twilio_statuses() -> None:
    assert [CALL_PROGRESS[c] for c in ("200101", "200201", "200102")] == [
        "initiated",
        "ringing",
        "answered",
    ]
    assert call_end("200000") == call_end("200008") == "completed"
    assert call_end("200002") == "busy"
    assert call_end("200003") == call_end("200010") == "no-answer"
    assert call_end("200004") == "failed"
    assert national("+8613800000002") == "13800000002"
