"""The listener's bounded queues (issue 9 §3): what happens to a message that does not
fit, and how heartbeats of one terminal coalesce."""

from __future__ import annotations

import aiomqtt
import pytest

from dispatcher.ingest.buffers import DropWhenFull, LatestPerTopic


def message(topic: str, payload: bytes = b"", qos: int = 0) -> aiomqtt.Message:
    return aiomqtt.Message(topic, payload, qos=qos, retain=False, mid=0, properties=None)


def test_a_press_that_does_not_fit_is_dropped_and_reported() -> None:
    dropped: list[str] = []
    queue = DropWhenFull(2, on_drop=lambda m: dropped.append(m.topic.value))
    for n in range(4):
        queue.put_nowait(message(f"t/{n}"))  # never raises: aiomqtt would log each
    assert [queue.get_nowait().topic.value for _ in range(queue.qsize())] == ["t/0", "t/1"]
    assert dropped == ["t/2", "t/3"]


def test_a_press_the_broker_still_holds_for_us_is_never_dropped() -> None:
    dropped: list[str] = []
    queue = DropWhenFull(
        2, on_drop=lambda m: dropped.append(m.topic.value), keep=lambda m: m.qos > 0
    )
    for n in range(4):
        queue.put_nowait(message(f"q1/{n}", qos=1))
    queue.put_nowait(message("q0", qos=0))  # answered on receipt: its terminal repeats it
    assert [queue.get_nowait().topic.value for _ in range(queue.qsize())] == [
        "q1/0",
        "q1/1",
        "q1/2",
        "q1/3",
    ]
    assert dropped == ["q0"]


async def test_the_latest_heartbeat_of_a_terminal_replaces_the_waiting_one() -> None:
    replaced: list[None] = []
    queue = LatestPerTopic(10, on_drop=lambda m: None, on_replace=lambda: replaced.append(None))
    for n in range(1000):
        queue.put_nowait(message("p/terminals/T-1/heartbeat", b"%d" % n))
        queue.put_nowait(message("p/terminals/T-2/heartbeat", b"%d" % n))
    queue.put_nowait(message("p/terminals/T-1/status", b"offline"))
    assert queue.qsize() == 3
    assert len(replaced) == 1998
    taken = [(m.topic.value, m.payload) for m in [await queue.get() for _ in range(3)]]
    # first in, first out by topic: the first topic to wait goes first, with its latest
    assert taken == [
        ("p/terminals/T-1/heartbeat", b"999"),
        ("p/terminals/T-2/heartbeat", b"999"),
        ("p/terminals/T-1/status", b"offline"),
    ]
    assert queue.empty()


def test_topics_past_the_bound_are_dropped_never_blocking() -> None:
    dropped: list[str] = []
    queue = LatestPerTopic(
        2, on_drop=lambda m: dropped.append(m.topic.value), on_replace=lambda: None
    )
    for device in ("T-1", "T-2", "T-3", "T-1"):
        queue.put_nowait(message(f"p/terminals/{device}/heartbeat"))
    assert not queue.full()
    assert queue.qsize() == 2
    assert dropped == ["p/terminals/T-3/heartbeat"]


def test_both_queues_must_be_bounded() -> None:
    with pytest.raises(ValueError, match="bounded"):
        DropWhenFull(0, on_drop=lambda m: None)
    with pytest.raises(ValueError, match="bounded"):
        LatestPerTopic(0, on_drop=lambda m: None, on_replace=lambda: None)
