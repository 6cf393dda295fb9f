"""The liveness batcher's memory and what a retained status means (issue 9 §3, §4); its
writes are tested through the service (test_listener.py, test_offline_terminals.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker

from devices.events import Heartbeat, StatusChange
from dispatcher.clock import ManualClock
from dispatcher.ingest.heartbeats import HeartbeatBatcher
from dispatcher.rules.rejections import RepeatLimit

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def batcher(max_pending: int = 100) -> HeartbeatBatcher:
    return HeartbeatBatcher(
        async_sessionmaker(),  # never flushed here
        interval_s=2.0,
        clock=ManualClock(NOW),
        repeats=RepeatLimit(logged_per_window=1, window_s=60, max_sources=10),
        logger=logging.getLogger("test.heartbeats"),
        max_pending=max_pending,
    )


def test_one_report_per_terminal_and_no_more_terminals_than_the_bound() -> None:
    b = batcher(max_pending=2)
    for n in range(1000):
        for device in ("T-1", "T-2", "T-3"):
            b.heartbeat(Heartbeat(device_id=device, ts=NOW, battery=n % 100), NOW)
    assert b.pending == 2
    assert b.turned_away == 1000  # T-3's, until the next flush makes room


def test_a_retained_status_says_what_the_terminal_last_said_not_that_it_lives() -> None:
    b = batcher()
    b.report(StatusChange(device_id="T-1", online=True), NOW, retained=True)
    b.report(Heartbeat(device_id="T-2", ts=NOW), NOW, retained=True)
    b.report(StatusChange(device_id="T-3", online=True), NOW, retained=False)
    pending = b._pending  # what the next flush would write
    assert (pending["T-1"].connected, pending["T-1"].last_seen) == (True, None)
    assert pending["T-1"].status_changed_at is None
    assert "T-2" not in pending  # a retained heartbeat is ignored
    # a fresh `online` says when it connected, and is no sign of life either: a hung
    # terminal reconnecting in a loop would never go offline
    assert (pending["T-3"].connected, pending["T-3"].last_seen) == (True, None)
    assert pending["T-3"].status_changed_at == NOW
