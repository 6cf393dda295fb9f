"""How much of a terminal's bad input is logged in full (issue 9 §4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatcher.rules.rejections import NO_DEVICE, RepeatLimit, Repeats, source_of

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def limit(keep: int = 3, window_s: float = 60, sources: int = 100) -> RepeatLimit:
    return RepeatLimit(logged_per_window=keep, window_s=window_s, max_sources=sources)


def test_the_first_of_a_window_are_logged_the_rest_counted_then_summed_up_once() -> None:
    rl = limit()
    admitted = [rl.admit("T-1", "not valid JSON", at(s)) for s in range(10)]
    assert admitted == [True] * 3 + [False] * 7
    assert rl.ended(at(59)) == []  # the window is not over
    assert rl.ended(at(60)) == [
        Repeats("T-1", 7, since=at(0), until=at(9), reasons=(("not valid JSON", 7),))
    ]
    assert rl.ended(at(61)) == []  # once
    # a new window: logged in full again
    assert rl.admit("T-1", "not valid JSON", at(100))


def test_a_rejection_after_the_window_starts_a_new_one_and_ends_the_old() -> None:
    rl = limit(keep=1)
    assert rl.admit("T-1", "a", at(0))
    assert not rl.admit("T-1", "b", at(30))
    assert rl.admit("T-1", "a", at(60))  # the first window is over
    assert rl.ended(at(61)) == [Repeats("T-1", 1, since=at(0), until=at(30), reasons=(("b", 1),))]


def test_terminals_are_limited_each_on_their_own() -> None:
    rl = limit(keep=1)
    assert rl.admit("T-1", "a", at(0))
    assert rl.admit("T-2", "a", at(0))
    assert not rl.admit("T-1", "a", at(1))
    assert [r.source for r in rl.ended(at(60))] == ["T-1"]  # T-2 had nothing counted


def test_a_window_without_counted_rejections_leaves_no_summary() -> None:
    rl = limit(keep=5)
    for s in range(5):
        assert rl.admit("T-1", "a", at(s))
    assert rl.ended(at(3600)) == []
    assert rl.sources == 0


def test_memory_is_bounded_by_ending_the_oldest_window_early() -> None:
    rl = limit(keep=1, sources=2)
    for device in ("T-1", "T-2"):
        rl.admit(device, "a", at(0))
        rl.admit(device, "a", at(1))
    assert rl.admit("T-3", "a", at(2))
    assert rl.sources == 2
    assert [r.source for r in rl.ended(at(3))] == ["T-1"]  # ended early, counted


def test_a_few_reasons_are_told_apart_and_every_rejection_counted() -> None:
    rl = limit(keep=1)
    rl.admit("T-1", "first", at(0))
    for n in range(20):
        rl.admit("T-1", f"reason {n % 10}", at(1))
    [summary] = rl.ended(at(60))
    assert summary.count == 20
    assert len(summary.reasons) == 5
    assert sum(n for _, n in summary.reasons) == 10


def test_at_shutdown_every_count_is_given_out() -> None:
    rl = limit(keep=1)
    rl.admit("T-1", "a", at(0))
    rl.admit("T-1", "a", at(1))
    rl.end_all()
    assert [(r.source, r.count) for r in rl.ended(at(2))] == [("T-1", 1)]


def test_messages_without_a_device_id_share_one_source() -> None:
    assert source_of(None) == source_of("") == NO_DEVICE
    assert source_of("T-1") == "T-1"


def test_a_limit_that_logs_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        limit(keep=0)
