from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatcher.rules.liveness import is_online

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def online(connected: bool, ago_s: float | None) -> bool:
    last = None if ago_s is None else NOW - timedelta(seconds=ago_s)
    return is_online(
        connected=connected, last_seen=last, now=NOW, interval_s=60, offline_after_missed=3
    )


def test_online_until_three_heartbeats_are_missed() -> None:
    assert online(True, 0)
    assert online(True, 179.9)
    assert not online(True, 180)


def test_last_will_or_never_seen_is_offline() -> None:
    assert not online(False, 0)
    assert not online(True, None)
