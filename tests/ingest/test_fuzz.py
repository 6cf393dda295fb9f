"""Generated messages on real topics of the real Mosquitto (issue 9 §2): odd topic names,
retained messages, QoS 0, 1 and 2, empty, huge and malformed payloads, bytes no column
takes. After each example's messages a real press is sent: the listener answers it
`accepted`, whatever came before.

A fixed number of examples, derandomized, for CI. A longer run by hand:

    FUZZ_EXAMPLES=2000 .venv/bin/pytest tests/ingest/test_fuzz.py -s
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.events import EventType
from dispatcher.app import Service
from dispatcher.config import Settings
from harness.city import seed_city
from harness.mqtt import RawPeer, event, raw_peer, wait_for
from harness.service import running

MOSQUITTO = ("127.0.0.1", 1883)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
TERMINALS = ["T-0001", "T-0002", "T-0003"]


def _topic_character(c: str) -> bool:
    # what MQTT lets a topic level hold (Mosquitto refuses control characters and
    # noncharacters, and disconnects a client that sends one); the rest is fair game
    code = ord(c)
    return c not in "/+#" and not (0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE)


LEVEL = st.text(
    st.characters(exclude_categories=("Cc", "Cs")).filter(_topic_character), max_size=70
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
NEAR_EVENT = st.fixed_dictionaries(
    {
        "v": st.sampled_from([1, 1, 1, 2, "1", None]),
        "event_id": st.one_of(st.uuids().map(str), st.text(max_size=70)),
        "type": st.one_of(st.sampled_from([t.value for t in EventType]), st.text(max_size=12)),
        "ts": st.sampled_from(
            ["2026-11-27T03:00:00+08:00", "2026-11-27T03:00:00", "0001-01-01T00:00:00+08:00", ""]
        ),
    },
    optional={
        "battery": JSON_VALUES,
        "rssi": JSON_VALUES,
        "loc": JSON_VALUES,
        "power": JSON_VALUES,
        "fw": JSON_VALUES,
        "x": JSON_VALUES,
    },
)


def _utf8_or_not(body: dict[str, Any]) -> bytes:
    # unescaped, so that a lone surrogate becomes bytes that are not UTF-8
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


PAYLOADS = st.one_of(
    st.just(b""),
    st.binary(max_size=300),
    NEAR_EVENT.map(lambda body: json.dumps(body).encode()),  # \u0000 and \ud800 escaped
    NEAR_EVENT.map(_utf8_or_not),
    NEAR_EVENT.map(lambda body: json.dumps(body).encode() + b"\x00"),
    st.sampled_from([b"online", b"offline", b"online\x00", b" offline\n"]),
    # over the 4 KiB of the protocol, up to far over it
    st.tuples(NEAR_EVENT, st.integers(4097, 300_000)).map(
        lambda t: json.dumps({**t[0], "pad": "x" * t[1]}).encode()
    ),
    st.integers(4097, 300_000).map(lambda n: b"\x00\xff{" * (n // 3)),
)


@dataclass(frozen=True)
class Published:
    topic: str
    payload: bytes
    qos: int
    retain: bool


def _topic(prefix: str) -> st.SearchStrategy[str]:
    # mostly topics the dispatcher subscribes to; now and then one it does not
    device = st.one_of(st.sampled_from(TERMINALS), LEVEL)
    kinds = st.sampled_from(["event", "event", "heartbeat", "status"])
    kind = st.one_of(*[kinds] * 5, LEVEL)
    extra: st.SearchStrategy[list[str]] = st.one_of(
        *[st.just([])] * 7, st.lists(LEVEL, min_size=1, max_size=2)
    )
    return st.builds(
        lambda d, k, e: "/".join([f"{prefix}/terminals", d, k, *e]), device, kind, extra
    )


@dataclass
class Fuzz:
    service: Service
    peer: RawPeer
    publisher: aiomqtt.Client
    prefix: str
    retained: set[str] = field(default_factory=set)
    examples: int = 0
    messages: int = 0
    # what reached the subscriptions: events (presses included), heartbeats and status
    events: int = 0
    liveness: int = 0

    def count(self, topic: str) -> None:
        head = f"{self.prefix}/terminals/"
        levels = topic.removeprefix(head).split("/") if topic.startswith(head) else []
        if len(levels) == 2 and levels[1] == "event":
            self.events += 1
        elif len(levels) == 2 and levels[1] in {"heartbeat", "status"}:
            self.liveness += 1

    def all_read(self) -> bool:
        liveness = self.service.liveness
        return (
            self.service.listener.processed >= self.events
            and liveness.processed + liveness.replaced >= self.liveness
        )


@pytest.fixture
async def fuzz(
    db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> AsyncIterator[Fuzz]:
    async with (
        running(settings_for(db_url)) as service,
        raw_peer(MOSQUITTO, topic_prefix) as peer,
        aiomqtt.Client(*MOSQUITTO, identifier=f"fuzz-{uuid.uuid4().hex[:8]}") as publisher,
    ):
        await seed_city(service.sessions)
        state = Fuzz(service, peer, publisher, topic_prefix)
        try:
            yield state
        finally:
            for topic in state.retained:  # the machine's broker forgets them
                await publisher.publish(topic, b"", qos=1, retain=True)
            print(
                f"\nfuzz: {state.examples} examples, {state.messages} messages "
                f"({state.events} events with the presses, {state.liveness} heartbeats "
                f"and status reached the dispatcher)"
            )


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_generated_messages_never_stop_a_real_press(fuzz: Fuzz, data: st.DataObject) -> None:
    messages = data.draw(
        st.lists(
            st.builds(
                Published,
                _topic(fuzz.prefix),
                PAYLOADS,
                st.sampled_from([0, 1, 2]),
                st.booleans(),
            ),
            min_size=1,
            max_size=4,
        )
    )
    for m in messages:
        await fuzz.publisher.publish(m.topic, m.payload, qos=m.qos, retain=m.retain)
        fuzz.count(m.topic)
        if m.retain:
            fuzz.retained.add(m.topic)
    fuzz.examples += 1
    fuzz.messages += len(messages)

    press = f"press-{uuid.uuid4().hex}"
    await fuzz.peer.publish(TERMINALS[0], "event", event(press))
    fuzz.events += 1
    while True:  # acks of the generated events come first, if any
        device, ack = await fuzz.peer.next_ack(within=15)
        if ack["event_id"] == press:
            break
    assert (device, ack) == (TERMINALS[0], {"event_id": press, "result": "accepted"})
    # every message that reached a subscription was read (and answered or logged)
    await wait_for(fuzz.all_read)
