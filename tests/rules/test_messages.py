"""The messages people read: short, in their language, split into as few SMS as can be."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dispatcher.rules.messages import (
    AlarmFacts,
    checkin_summary_text,
    fit_sms,
    opt_out_text,
    sms_segments,
    sms_text,
    summary_text,
    terminal_text,
    told_text,
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
    assert text.startswith("【一键通】紧急：王秀英")  # apart: not 紧急王秀英


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


MEAL = replace(
    FACTS,
    kind=AlarmKind.SERVICE,
    type="service",
    resident_phone="+8613912345678",
    service="meals",
)


def test_a_provider_reads_who_where_which_phone_what_and_the_codes() -> None:
    text = sms_text(MEAL, language="zh-CN", to_provider=True)
    for part in ("王秀英", "纬北路12号", "+8613912345678", "助餐", "“1 23”", "“4 23”", "“2 23”"):
        assert part in text
    # the longest address still leaves the codes in two SMS
    long = replace(MEAL, resident_name="欧阳" * 10, address="天" * 250)
    assert sms_segments(sms_text(long, language="zh-CN", to_provider=True)) <= 2
    en = sms_text(
        replace(MEAL, resident_phone="", service="plumbing"), language="en", purpose="service"
    )
    assert "needs plumbing" in en
    assert "tel" not in en


def test_relatives_hear_who_took_it_then_how_it_ended() -> None:
    taken = told_text(FACTS, {"who": "张丽", "role": "worker"}, language="zh-CN")
    assert taken == "【一键通】王秀英的求助已由社区工作者张丽接手处理。"
    closed = told_text(FACTS, {"outcome": "ambulance_called"}, language="en")
    assert closed == "[One-touch] 王秀英's call for help is closed: Ambulance called."
    # the relative hears that the centre has it, not an operator's login name
    by_operator = told_text(FACTS, {"who": "op1", "role": "operator"}, language="en")
    assert by_operator == (
        "[One-touch] An operator of the one-touch centre has taken 王秀英's call for help."
    )
    in_chinese = told_text(FACTS, {"who": "op1", "role": "operator"}, language="zh-CN")
    assert in_chinese == "【一键通】王秀英的求助已由一键通中心接警员接手处理。"


def test_a_provider_hears_which_request_closed_not_a_relatives_words() -> None:
    closed = told_text(MEAL, {"outcome": "false_alarm"}, language="zh-CN", to_provider=True)
    assert closed == "【一键通】服务请求（编号23）已结束：王秀英，误报。无需再上门，谢谢。"
    en = told_text(MEAL, {"outcome": "service_done"}, language="en", to_provider=True)
    assert en == "[One-touch] Service request 23 for 王秀英 is closed: Service done. No need to go."


def test_the_morning_list_names_who_has_not_checked_in() -> None:
    body = {"community": "康桥社区", "date": "2026-12-01", "ok": 28, "missed": ["王秀英", "李桂兰"]}
    text = checkin_summary_text({**body, "paused": 1, "waiting": 3}, language="zh-CN")
    assert "已报28人，未报2人（王秀英、李桂兰）" in text
    assert "暂停1人" in text
    none_missed = checkin_summary_text({**body, "missed": []}, language="en")
    assert "0 not," in none_missed


def test_supervisors_hear_of_an_opt_out() -> None:
    text = opt_out_text(
        {"who": "刘军", "phone": "+8613800000002", "word": "CANCEL"}, language="zh-CN"
    )
    assert "刘军（+8613800000002）回复“CANCEL”" in text
    assert "电话" in text
    assert "an unregistered number" in opt_out_text(
        {"phone": "+86139", "word": "STOP"}, language="en"
    )


def test_a_summary_names_what_asks_for_an_answer_and_what_only_informs() -> None:
    text = summary_text([[23, "王秀英"]], language="zh-CN", notes=["李桂兰", "李桂兰"])
    assert "王秀英（回复“1 23”）" in text
    assert "另有2条通知，涉及：李桂兰。" in text
    only_notes = summary_text([], language="en", notes=["康桥社区"])
    assert only_notes.startswith("[One-touch] 1 more message(s) for you, about: 康桥社区.")


def test_a_service_request_has_words_of_its_own_on_the_terminal() -> None:
    assert "服务" in terminal_text("help_coming", "zh-CN", kind=AlarmKind.SERVICE)
    assert terminal_text("help_coming", "zh-CN", kind=AlarmKind.EMERGENCY) == terminal_text(
        "help_coming", "zh-CN"
    )
    assert terminal_text("ping", "en") == ""


def test_an_outage_is_named_by_its_community_and_size() -> None:
    outage = replace(
        FACTS,
        kind=AlarmKind.DEVICE,
        type="outage",
        resident_name="康桥社区",
        address="",
        members=40,
    )
    assert "康桥社区（40台终端）多台终端同时离线或断电" in sms_text(outage, language="zh-CN")
