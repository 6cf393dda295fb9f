"""A paced MQTT publisher in a process of its own: `python -m bench.publisher PLAN.json`.

For loads whose every message goes to another topic (a press from each of 6,000
terminals, heartbeats of 100,000): `mosquitto_pub -l` publishes to one topic per process.
paho's plain client (no asyncio) publishes some 10,000 QoS 1 messages a second on one
core, several times what these loads ask; the report says how far behind its schedule it
fell, so that a run where the publisher was the bottleneck shows it.

The plan (JSON) names the broker and one or more streams. Message j of a stream goes to
`topics[j % len(topics)]`, due at `start + offset_s + j / rate` (rate 0: as fast as it
can). Kinds: `event` (a terminal event whose event_id carries the wall-clock send time in
ns, so an ack's latency can be read off the ack alone), `heartbeat`, `sensor` (the
peer's `{"value": V}`). Each event and sensor message is written to `sent_log` as
`SEND_NS TOPIC EVENT_ID`. Times are `time.time_ns()`: the ack collector
(`mosquitto_sub -F %U`) and the HTTP sink stamp with the same wall clock.
"""

from __future__ import annotations

import heapq
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

# paho's own queue: never drop, never block the schedule on it
_IN_FLIGHT = 2000


@dataclass
class Stream:
    name: str
    kind: str
    topics: list[str]
    count: int
    rate: float = 0.0
    offset_s: float = 0.0
    qos: int = 1
    event_type: str = "sos"
    run: str = "run"
    value: float = 1.0
    sent: int = 0
    first_ns: int = 0
    last_ns: int = 0
    lags: list[float] = field(default_factory=list)

    def due(self, start: float, j: int) -> float:
        return start + self.offset_s + (j / self.rate if self.rate > 0 else 0.0)


class _Stamp:
    """The `ts` field, formatted once a second: terminals send seconds anyway."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._text = datetime.fromtimestamp(second, UTC).astimezone().isoformat()
        return self._text


def payload(stream: Stream, j: int, topic: str, ns: int, stamp: _Stamp) -> tuple[bytes, str]:
    """(the message, its event_id or "")."""
    if stream.kind == "event":
        event_id = f"{stream.run}-{j}-{ns}"
        body = {"v": 1, "event_id": event_id, "type": stream.event_type, "ts": stamp.now()}
        return json.dumps(body, separators=(",", ":")).encode(), event_id
    if stream.kind == "heartbeat":
        body = {
            "v": 1,
            "ts": stamp.now(),
            "battery": 87,
            "rssi": -70,
            "power": "mains",
            "fw": "bench-1.0",
        }
        return json.dumps(body, separators=(",", ":")).encode(), ""
    if stream.kind == "sensor":
        return json.dumps({"value": stream.value}).encode(), f"{stream.run}-{j}"
    raise ValueError(f"unknown stream kind {stream.kind!r}")


class _Acks:
    """Counts PUBACKs, so the publisher leaves only when the broker has everything."""

    def __init__(self) -> None:
        self.count = 0
        self.done = threading.Condition()

    def on_publish(self, *_args: Any) -> None:
        with self.done:
            self.count += 1
            self.done.notify_all()


def connect(plan: dict[str, Any], acks: _Acks) -> mqtt.Client:
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=plan.get("client_id", ""),
        protocol=mqtt.MQTTv311,
    )
    client.username_pw_set(plan["username"], plan["password"])
    client.max_inflight_messages_set(_IN_FLIGHT)
    client.max_queued_messages_set(0)
    client.on_publish = acks.on_publish
    client.connect(plan["host"], plan["port"], keepalive=60)
    client.loop_start()
    deadline = time.monotonic() + 10
    while not client.is_connected():
        if time.monotonic() > deadline:
            raise RuntimeError("publisher could not connect")
        time.sleep(0.01)
    return client


def run(plan: dict[str, Any]) -> dict[str, Any]:
    streams = [Stream(**s) for s in plan["streams"]]
    acks = _Acks()
    client = connect(plan, acks)
    stamp = _Stamp()
    sent_log: list[str] = []
    # start together with the other processes of the run, at a wall-clock instant
    start_at = plan.get("start_at_ns", 0) / 1e9
    if start_at:
        time.sleep(max(0.0, start_at - time.time()))
    start = time.monotonic()
    queue = [(s.due(start, 0), i, 0) for i, s in enumerate(streams) if s.count > 0]
    heapq.heapify(queue)
    while queue:
        due, i, j = heapq.heappop(queue)
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        stream = streams[i]
        topic = stream.topics[j % len(stream.topics)]
        ns = time.time_ns()
        body, event_id = payload(stream, j, topic, ns, stamp)
        client.publish(topic, body, qos=stream.qos)
        stream.lags.append(max(0.0, time.monotonic() - due))
        stream.sent += 1
        stream.first_ns = stream.first_ns or ns
        stream.last_ns = ns
        if event_id:
            sent_log.append(f"{ns} {topic} {event_id}\n")
        if j + 1 < stream.count:
            heapq.heappush(queue, (stream.due(start, j + 1), i, j + 1))
    with acks.done:
        # paho reports QoS 0 messages too, once written to the socket
        total = sum(s.sent for s in streams)
        acks.done.wait_for(lambda: acks.count >= total, timeout=120)
    all_acked_ns = time.time_ns()
    client.loop_stop()
    client.disconnect()
    if plan.get("sent_log"):
        Path(plan["sent_log"]).write_text("".join(sent_log))
    return {
        "streams": [
            {
                "name": s.name,
                "sent": s.sent,
                "first_ns": s.first_ns,
                "last_ns": s.last_ns,
                "lag_p99_s": _p99(s.lags),
                "lag_max_s": max(s.lags, default=0.0),
            }
            for s in streams
        ],
        "pubacks": acks.count,
        "all_acked_ns": all_acked_ns,
    }


def _p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    report = run(plan)
    Path(plan["report"]).write_text(json.dumps(report))


if __name__ == "__main__":
    main()
