"""The two bounded queues that aiomqtt fills as messages come off the socket (its
`queue_type`), one per broker session of the listener.

Memory is bounded here, by dropping what we can afford to drop.

- `DropWhenFull`, for terminal events: when full, a new message is dropped. It has not
  been acknowledged to its terminal, which repeats it until it is (protocol v1), so
  nothing is lost, only later. QoS 1 events from a real broker are never dropped (`keep`):
  the listener answers their deliveries only once committed, and the broker should send
  no more than its in-flight window ahead (`listener.py`); one that sends more makes
  the queue longer, not lossy. QoS 0 floods and the embedded broker (answered on
  receipt) can fill it.
- `LatestPerTopic`, for heartbeats and status: a message replaces the one of its topic
  still waiting, since only the latest report of a terminal matters. Its size is bounded
  by the number of topics (two per terminal); past `maxsize` topics a new topic's message
  is dropped (the terminal's next heartbeat brings it again).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable

import aiomqtt


class DropWhenFull(asyncio.Queue[aiomqtt.Message]):
    """A bounded FIFO whose `put_nowait` drops a message when full (and says so through
    `on_drop`) instead of raising, which aiomqtt would log once per message. A message
    that `keep` says the broker still holds for us (a QoS 1 delivery we answer once it is
    committed) is never dropped: it is bounded by the broker's in-flight window, and a
    broker that sends past it (Mosquitto 2.0.11 does, once PUBACKs come: bench/README.md)
    must not cost a press."""

    def __init__(
        self,
        maxsize: int,
        *,
        on_drop: Callable[[aiomqtt.Message], None],
        keep: Callable[[aiomqtt.Message], bool] = lambda _: False,
    ) -> None:
        if maxsize <= 0:
            raise ValueError("an events queue must be bounded")
        super().__init__(0)  # the bound is applied here, to what may be dropped
        self._limit = maxsize
        self._on_drop = on_drop
        self._keep = keep

    def put_nowait(self, item: aiomqtt.Message) -> None:
        if self.qsize() >= self._limit and not self._keep(item):
            self._on_drop(item)
            return
        super().put_nowait(item)


class LatestPerTopic(asyncio.Queue[aiomqtt.Message]):
    """First in, first out by topic; a message replaces the waiting one of its topic,
    which keeps its place. `maxsize` bounds the topics, never blocking: see the module."""

    def __init__(
        self,
        maxsize: int,
        *,
        on_drop: Callable[[aiomqtt.Message], None],
        on_replace: Callable[[], None],
    ) -> None:
        if maxsize <= 0:
            raise ValueError("a liveness queue must be bounded")
        self._topics = maxsize
        self._on_drop = on_drop
        self._on_replace = on_replace
        super().__init__(0)  # never "full": a replacement always fits

    # asyncio.Queue's storage hooks, as LifoQueue and PriorityQueue override them
    def _init(self, maxsize: int) -> None:
        self._queue: collections.OrderedDict[str, aiomqtt.Message] = collections.OrderedDict()

    def _put(self, item: aiomqtt.Message) -> None:
        topic = item.topic.value
        if topic in self._queue:
            self._on_replace()
        elif len(self._queue) >= self._topics:
            self._on_drop(item)
            return
        self._queue[topic] = item

    def _get(self) -> aiomqtt.Message:
        return self._queue.popitem(last=False)[1]
