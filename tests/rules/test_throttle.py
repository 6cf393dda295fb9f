from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.rules.throttle import Throttle

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def test_normal_messages_leave_the_last_place_for_a_summary() -> None:
    t = Throttle(limit=5, window_s=300)
    assert [t.may_send(n) for n in range(6)] == [True, True, True, True, False, False]


def test_a_summary_waits_for_the_storm_to_gather_and_needs_room() -> None:
    t = Throttle(limit=5, window_s=300, gather_s=30)
    held_since = NOW - timedelta(seconds=29)
    assert not t.may_summarise(4, held_since, NOW)
    assert t.may_summarise(4, held_since, NOW + timedelta(seconds=1))
    assert not t.may_summarise(5, held_since, NOW + timedelta(seconds=1))


def test_a_throttle_needs_room_for_a_summary() -> None:
    with pytest.raises(ValueError, match="summary"):
        Throttle(limit=1, window_s=300)
