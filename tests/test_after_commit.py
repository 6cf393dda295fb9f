"""After a commit: one module turns what changed into metrics, logs, wake-ups and the
live feed; the role that committed is never woken by its own change."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.after_commit import AfterCommit, Wakes
from dispatcher.config import ProcessRole
from dispatcher.metrics import Metrics
from dispatcher.store.changes import Changes, Closed, Opened
from dispatcher.store.models import Alarm

ALL: frozenset[ProcessRole] = frozenset({"ingest", "web", "engine", "notifier"})


def _rig(roles: frozenset[ProcessRole] = ALL) -> tuple[AfterCommit, list[str], Metrics]:
    calls: list[str] = []
    metrics = Metrics()
    after = AfterCommit(
        metrics=metrics,
        logger=logging.getLogger("test.after_commit"),
        wakes=Wakes(
            roles,
            engine=lambda: calls.append("engine"),
            engine_for_alarms=lambda: calls.append("engine_for_alarms"),
            notifier=lambda: calls.append("notifier"),
            elsewhere=lambda r: calls.append("notify:" + ",".join(sorted(r))),
        ),
        live=lambda ids: calls.append(f"live:{sorted(ids)}"),
    )
    return after, calls, metrics


def test_a_batch_that_opened_an_alarm_wakes_the_engine_for_its_steps_only() -> None:
    after, calls, metrics = _rig()
    after(Changes(opened=[Opened(7, "emergency", "T-1")], alarms=[7], steps=True))
    assert calls == ["engine_for_alarms", "live:[7]"]
    assert metrics.alarms_opened.labels("emergency")._value.get() == 1


def test_a_power_report_wakes_the_engines_look_at_terminals() -> None:
    after, calls, _ = _rig()
    after(Changes(steps=True, terminals=True))
    assert calls == ["engine"]


@pytest.mark.parametrize(
    ("origin", "expected"),
    [(None, ["engine", "notifier"]), ("engine", ["notifier"]), ("notifier", ["engine"])],
)
def test_the_origin_is_not_woken_by_its_own_change(
    origin: ProcessRole | None, expected: list[str]
) -> None:
    after, calls, _ = _rig()
    after(Changes(steps=True, terminals=True, outbox=True), origin=origin)
    assert calls == expected


def test_roles_of_other_processes_are_woken_by_notify() -> None:
    after, calls, _ = _rig(frozenset({"ingest", "web"}))
    after(Changes(opened=[Opened(1, "emergency", None)], alarms=[1], steps=True, outbox=True))
    assert calls == ["notify:engine,notifier", "live:[1]"]


def test_nothing_changed_wakes_nobody() -> None:
    after, calls, _ = _rig()
    after(Changes())
    assert calls == []
    assert not Changes()


def _alarm(created: datetime, acked: datetime | None, resolved: datetime | None) -> Alarm:
    return Alarm(
        id=3,
        kind="emergency",
        device_id="T-9",
        created_at=created,
        acknowledged_at=acked,
        acknowledged_by="op1" if acked else None,
        resolved_at=resolved,
        resolved_by="op1" if resolved else None,
        outcome="handled" if resolved else None,
    )


def test_an_action_is_taken_or_closed_only_when_it_happened_now() -> None:
    t0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    now = t0 + timedelta(seconds=42)
    taken = Changes.of_action(_alarm(t0, now, None), now, via="dashboard")
    assert [(t.alarm_id, t.waited_s, t.via) for t in taken.taken] == [(3, 42.0, "dashboard")]
    assert taken.closed == []
    again = Changes.of_action(_alarm(t0, now, None), now + timedelta(seconds=5), via="phone")
    assert again.taken == []
    assert again.closed == []
    assert again.alarms == [3]
    assert again.outbox
    closed = Changes.of_action(_alarm(t0, t0, now), now, via="dashboard")
    assert closed.taken == []
    assert closed.closed == [Closed(3, "handled", "op1", "T-9")]


def test_an_operators_take_is_measured_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    after, _, metrics = _rig()
    t0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    now = t0 + timedelta(seconds=30)
    with caplog.at_level(logging.INFO, logger="test.after_commit"):
        after(Changes.of_action(_alarm(t0, now, None), now, via="dashboard"))
    assert "alarm 3 taken by op1 via dashboard after 30 s" in caplog.text
    assert metrics.ack_seconds.labels("emergency")._sum.get() == 30.0
