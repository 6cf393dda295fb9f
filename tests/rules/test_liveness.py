from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatcher.rules.liveness import is_online, offline_since

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


def needs(
    *,
    connected: bool = True,
    seen_ago: float | None = 0,
    beat: bool = True,
    status_ago: float | None = None,
) -> bool:
    """An offline alarm is due at NOW (as the engine's pass asks `offline_since`)."""
    since = offline_since(
        connected=connected,
        last_seen=None if seen_ago is None else NOW - timedelta(seconds=seen_ago),
        last_heartbeat=NOW - timedelta(seconds=999) if beat else None,
        status_changed_at=None if status_ago is None else NOW - timedelta(seconds=status_ago),
        interval_s=60,
        offline_after_missed=3,
    )
    return since is not None and since <= NOW


def test_three_missed_heartbeats_raise_an_offline_alarm() -> None:
    assert not needs(seen_ago=179)
    assert needs(seen_ago=180)


def test_a_last_will_is_an_alarm_only_after_a_whole_period() -> None:
    assert not needs(connected=False, seen_ago=10, status_ago=59)
    assert needs(connected=False, seen_ago=10, status_ago=60)


def test_a_terminal_that_never_beat_cannot_miss_a_beat() -> None:
    assert not needs(beat=False, seen_ago=10_000)
    assert not needs(beat=False, connected=False, status_ago=10_000)
