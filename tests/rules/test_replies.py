from __future__ import annotations

import pytest

from dispatcher.rules.replies import Intent, Reply, parse_sms


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
        ("3", Reply(Intent.UNKNOWN)),
        ("", Reply(Intent.UNKNOWN)),
        ("我马上到", Reply(Intent.UNKNOWN)),
        ("1 abc", Reply(Intent.UNKNOWN)),
    ],
)
def test_replies(body: str, reply: Reply) -> None:
    assert parse_sms(body) == reply
