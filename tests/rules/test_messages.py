"""The messages people read: short, in their language, split into as few SMS as can be."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dispatcher.rules.messages import (
    AlarmFacts,
    fit_sms,
    sms_segments,
    sms_text,
    summary_text,
    voice_text,
)
from dispatcher.rules.policy import AlarmKind

FACTS = AlarmFacts(
    alarm_id=23,
    kind=AlarmKind.EMERGENCY,
    type="sos",
    resident_name="王秀英",
    address="天桥区纬北路12号3单元201",
    short_code="23",
)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("{" * 80, 1),  # GSM extension characters take two septets
        ("{" * 81, 2),
        ("中" * 70, 1),
        ("中" * 71, 2),
        ("中" * 134, 2),
        ("中" * 135, 3),
        ("a" * 69 + "中", 1),  # one Chinese character makes the whole SMS UCS-2
        ("😀" * 35, 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_segments(text: str, parts: int) -> None:
    assert sms_segments(text) == parts


def test_the_alarm_sms_in_chinese_says_who_where_what_and_how_to_accept() -> None:
    text = sms_text(FACTS, language="zh-CN")
    for part in ("王秀英", "纬北路12号", "紧急呼叫", "回复“1 23”", "回复“2 23”"):
        assert part in text
    assert "http" not in text
    assert sms_segments(text) == 1


def test_english_for_those_who_read_it() -> None:
    text = sms_text(FACTS, language="en")
    assert "Reply 1 23" in text
    assert "emergency button" in text
    assert "Press 1" in voice_text(FACTS, language="en")
    assert "请按1" in voice_text(FACTS, language="zh-CN")


def test_fit_keeps_within_the_segments() -> None:
    long = "【一键通】" + "很长的地址" * 60
    fitted = fit_sms(long, 2)
    assert sms_segments(fitted) == 2
    assert fitted.endswith("…")
    assert fit_sms("short", 1) == "short"


def test_summary_lists_each_alarm_with_its_code() -> None:
    text = summary_text([[23, "王秀英"], [24, "张桂兰"]], language="zh-CN")
    assert "另有2起报警" in text
    assert "王秀英（回复“1 23”）" in text
    assert "张桂兰（回复“1 24”）" in text


def test_a_long_address_is_shortened_so_the_reply_code_survives() -> None:
    long = replace(FACTS, address="天桥区" + "很长的路名" * 30)
    text = sms_text(long, language="zh-CN")
    assert "回复“1 23”" in text
    assert sms_segments(text) <= 2
