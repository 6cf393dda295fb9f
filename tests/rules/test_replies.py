from __future__ import annotations

import pytest

from dispatcher.rules.replies import (
    Act,
    Action,
    Asked,
    AskWhich,
    Intent,
    Reply,
    Tell,
    decide,
    parse_sms,
)


@pytest.mark.parametrize(
    ("body", "reply"),
    [
        ("1", Reply(Intent.ACCEPT)),
        (" 1 ", Reply(Intent.ACCEPT)),
        ("１", Reply(Intent.ACCEPT)),
        ("1 23", Reply(Intent.ACCEPT, 23)),
        ("1，23", Reply(Intent.ACCEPT, 23)),
        ("1#23", Reply(Intent.ACCEPT, 23)),
        ("“1 23”", Reply(Intent.ACCEPT, 23)),
        ('"2 23"', Reply(Intent.DECLINE, 23)),
        ("１　２３", Reply(Intent.ACCEPT, 23)),
        ("能去", Reply(Intent.ACCEPT)),
        ("ok", Reply(Intent.ACCEPT)),
        ("2", Reply(Intent.DECLINE)),
        ("2 23", Reply(Intent.DECLINE, 23)),
        ("不能", Reply(Intent.DECLINE)),
        ("STOP", Reply(Intent.STOP)),
        ("stop", Reply(Intent.STOP)),
        ("退订", Reply(Intent.STOP)),
        ("START", Reply(Intent.START)),
        ("123", Reply(Intent.UNKNOWN)),
        ("3", Reply(Intent.ARRIVED)),
        ("3 23", Reply(Intent.ARRIVED, 23)),
        ("到了", Reply(Intent.ARRIVED)),
        ("4 23", Reply(Intent.DONE, 23)),
        ("完成", Reply(Intent.DONE)),
        ("CANCEL", Reply(Intent.STOP)),
        ("5", Reply(Intent.UNKNOWN)),
        ("", Reply(Intent.UNKNOWN)),
        ("我马上到", Reply(Intent.UNKNOWN)),
        ("1 abc", Reply(Intent.UNKNOWN)),
    ],
)
def test_replies(body: str, reply: Reply) -> None:
    assert parse_sms(body) == reply


# --- what a reply does, given the alarms the phone was asked about (newest first) ------

A23 = Asked(notification_id=5, alarm_id=23, provider=False, status="open", about="王秀英")
A24 = Asked(notification_id=6, alarm_id=24, provider=False, status="open", about="李桂兰")
TAKEN = Asked(notification_id=7, alarm_id=25, provider=False, status="acknowledged", about="张")
MEAL = Asked(notification_id=8, alarm_id=30, provider=True, status="open", about="赵大爷")


def test_a_bare_1_with_one_alarm_waiting_takes_it() -> None:
    assert decide(Reply(Intent.ACCEPT), [A23, TAKEN]) == Act(Action.TAKE, A23)


def test_a_bare_1_with_several_alarms_waiting_asks_which() -> None:
    assert decide(Reply(Intent.ACCEPT), [A24, A23]) == AskWhich(
        Intent.ACCEPT, ((24, "李桂兰"), (23, "王秀英"))
    )
    # with the code it is plain
    assert decide(Reply(Intent.ACCEPT, 23), [A24, A23]) == Act(Action.TAKE, A23)
    assert decide(Reply(Intent.DECLINE, 24), [A24, A23]) == Act(Action.DECLINE, A24)


def test_a_code_the_phone_was_not_asked_about_is_named_back() -> None:
    assert decide(Reply(Intent.ACCEPT, 99), [A23]) == Tell("unknown_code", 99)


def test_nothing_waiting_is_said() -> None:
    assert decide(Reply(Intent.ACCEPT), [TAKEN]) == Tell("nothing_open")
    # a named one taken by another is tried, and the store answers "already taken"
    assert decide(Reply(Intent.ACCEPT, 25), [TAKEN]) == Act(Action.TAKE, TAKEN)


def test_3_is_at_the_door_of_any_alarm_not_closed() -> None:
    assert decide(Reply(Intent.ARRIVED), [TAKEN]) == Act(Action.ARRIVE, TAKEN)
    assert isinstance(decide(Reply(Intent.ARRIVED), [TAKEN, A23]), AskWhich)
    assert decide(Reply(Intent.ARRIVED, 23), [TAKEN, A23]) == Act(Action.ARRIVE, A23)


def test_a_provider_accepts_with_1_and_is_done_with_4() -> None:
    assert decide(Reply(Intent.ACCEPT), [MEAL]) == Act(Action.SERVICE_ACCEPTED, MEAL)
    assert decide(Reply(Intent.DONE, 30), [MEAL, A23]) == Act(Action.SERVICE_DONE, MEAL)
    # 4 means the provider's request, even beside an emergency the same phone was told of
    assert decide(Reply(Intent.DONE), [A23, MEAL]) == Act(Action.SERVICE_DONE, MEAL)
    assert decide(Reply(Intent.DECLINE), [MEAL]) == Act(Action.DECLINE, MEAL)


def test_4_from_someone_who_is_no_provider_is_explained() -> None:
    assert decide(Reply(Intent.DONE), [A23]) == Tell("not_provider")
    assert decide(Reply(Intent.DONE, 23), [A23, MEAL]) == Tell("unknown_code", 23)


def test_anything_else_gets_the_help() -> None:
    assert decide(Reply(Intent.UNKNOWN), [A23]) == Tell("help")
