"""Protocol v1 codec: every accepted form, every rejection reason, and properties."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import protocol_v1 as p
from devices.events import (
    Ack,
    AckResult,
    Command,
    CommandType,
    EventType,
    Heartbeat,
    Location,
    PowerSource,
    Rejection,
    StatusChange,
    TerminalEvent,
)

PREFIX = "eldercare"
DEV = "T-0001"
EVENT_TOPIC = p.event_topic(PREFIX, DEV)
HB_TOPIC = p.heartbeat_topic(PREFIX, DEV)
STATUS_TOPIC = p.status_topic(PREFIX, DEV)
TS = "2026-11-27T08:15:00+08:00"
TS_DT = datetime(2026, 11, 27, 8, 15, tzinfo=timezone(timedelta(hours=8)))
DECODED_TYPES = (TerminalEvent, Heartbeat, StatusChange, Rejection)


def body(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"v": 1, "event_id": "e-1", "type": "sos", "ts": TS}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def raw(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def reject(topic: str, payload: bytes) -> Rejection:
    decoded = p.decode(topic, payload, prefix=PREFIX)
    assert isinstance(decoded, Rejection), decoded
    assert decoded.topic == topic
    assert decoded.raw == payload
    return decoded


# ---- accepted forms --------------------------------------------------------------------


def test_full_event_from_the_design_example() -> None:
    payload = raw(body(battery=87, rssi=-71, loc={"lat": 36.67, "lon": 116.99}))
    assert p.decode(EVENT_TOPIC, payload, prefix=PREFIX) == TerminalEvent(
        device_id=DEV,
        event_id="e-1",
        type=EventType.SOS,
        ts=TS_DT,
        battery=87,
        rssi=-71,
        loc=Location(36.67, 116.99),
    )


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_type_is_accepted(event_type: EventType) -> None:
    decoded = p.decode(EVENT_TOPIC, raw(body(type=event_type.value)), prefix=PREFIX)
    assert isinstance(decoded, TerminalEvent)
    assert decoded.type is event_type


@pytest.mark.parametrize(
    ("ts", "offset"),
    [
        ("2026-11-27T00:15:00Z", timedelta(0)),
        ("2026-11-27T00:15:00+00:00", timedelta(0)),
        ("2026-11-27T08:15:00.123456+08:00", timedelta(hours=8)),
        ("2026-11-26T19:15:00-05:00", timedelta(hours=-5)),
    ],
)
def test_ts_forms_with_an_offset(ts: str, offset: timedelta) -> None:
    decoded = p.decode(EVENT_TOPIC, raw(body(ts=ts)), prefix=PREFIX)
    assert isinstance(decoded, TerminalEvent)
    assert decoded.ts.utcoffset() == offset


def test_optional_fields_may_be_null_or_absent_and_unknown_fields_are_ignored() -> None:
    payload = raw(body(battery=None, rssi=None, loc=None, extra={"future": True}))
    decoded = p.decode(EVENT_TOPIC, payload, prefix=PREFIX)
    assert decoded == TerminalEvent(DEV, "e-1", EventType.SOS, TS_DT)


@pytest.mark.parametrize("event_id", ["x", "a" * 64, "with space", "!~\"'{}", "b1f0c2d4-0e"])
def test_event_id_forms(event_id: str) -> None:
    decoded = p.decode(EVENT_TOPIC, raw(body(event_id=event_id)), prefix=PREFIX)
    assert isinstance(decoded, TerminalEvent)
    assert decoded.event_id == event_id


@pytest.mark.parametrize("loc", [{"lat": -90, "lon": 180}, {"lat": 90.0, "lon": -180.0}])
def test_loc_bounds_are_inclusive_and_ints_pass(loc: dict[str, float]) -> None:
    decoded = p.decode(EVENT_TOPIC, raw(body(loc=loc)), prefix=PREFIX)
    assert isinstance(decoded, TerminalEvent)
    assert decoded.loc == Location(float(loc["lat"]), float(loc["lon"]))


def test_minimal_and_full_heartbeat() -> None:
    minimal = p.decode(HB_TOPIC, raw({"v": 1, "ts": TS}), prefix=PREFIX)
    assert minimal == Heartbeat(device_id=DEV, ts=TS_DT)
    full = {"v": 1, "ts": TS, "battery": 100, "rssi": -71, "power": "battery", "fw": "1.4.2"}
    assert p.decode(HB_TOPIC, raw(full), prefix=PREFIX) == Heartbeat(
        DEV, TS_DT, battery=100, rssi=-71, power=PowerSource.BATTERY, fw="1.4.2"
    )


@pytest.mark.parametrize(
    ("payload", "online"),
    [(b"online", True), (b"offline", False), (b" online\n", True), (b"\toffline \r\n", False)],
)
def test_status(payload: bytes, online: bool) -> None:
    assert p.decode(STATUS_TOPIC, payload, prefix=PREFIX) == StatusChange(DEV, online)


def test_prefix_with_slashes_and_device_id_edges() -> None:
    prefix = "test-1234/eldercare"
    for device_id in ("a", "A_z-09", "x" * 64):
        decoded = p.decode(p.status_topic(prefix, device_id), b"online", prefix=prefix)
        assert decoded == StatusChange(device_id, online=True)


def test_payload_of_exactly_4096_bytes_is_accepted() -> None:
    payload = raw(body(pad=""))
    payload = raw(body(pad="x" * (4096 - len(payload))))
    assert len(payload) == 4096
    assert isinstance(p.decode(EVENT_TOPIC, payload, prefix=PREFIX), TerminalEvent)


# ---- rejections ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[" * 3000, "not valid JSON"),
        (b'{"v": NaN}', "not valid JSON"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),
        (b"\xff\xfe{\x00}\x00", "not valid UTF-8"),
        (b"[1, 2]", "not a JSON object"),
        (b'"sos"', "not a JSON object"),
        (raw(body(v=...)), "missing field 'v'"),
        (raw(body(v=2)), "unsupported protocol version 2"),
        (raw(body(v=0)), "unsupported protocol version 0"),
        (raw(body(v="1")), "field 'v' must be an integer, got '1'"),
        (raw(body(v=True)), "field 'v' must be an integer, got True"),
        (raw(body(v=1.0)), "field 'v' must be an integer, got 1.0"),
        (raw(body(event_id=...)), "missing field 'event_id'"),
        (raw(body(event_id="")), "event_id must be 1 to 64 printable ASCII characters"),
        (raw(body(event_id="a" * 65)), "event_id must be 1 to 64 printable ASCII characters"),
        (raw(body(event_id="tab\there")), "event_id must be 1 to 64 printable ASCII characters"),
        (raw(body(event_id="事件")), "event_id must be 1 to 64 printable ASCII characters"),
        (raw(body(event_id=7)), "event_id must be 1 to 64 printable ASCII characters"),
        (raw(body(type=...)), "missing field 'type'"),
        (raw(body(type="foo")), "unknown event type 'foo'"),
        (raw(body(type="SOS")), "unknown event type 'SOS'"),
        (raw(body(type=1)), "unknown event type 1"),
        (raw(body(type="x" * 100)), "unknown event type '" + "x" * 36 + "..."),
        (raw(body(ts=...)), "missing field 'ts'"),
        (raw(body(ts="2026-11-27T08:15:00")), "ts must be ISO 8601 with an offset"),
        (raw(body(ts="2026-11-27")), "ts must be ISO 8601 with an offset"),
        (raw(body(ts="yesterday")), "ts must be ISO 8601 with an offset"),
        (raw(body(ts=1764202500)), "ts must be ISO 8601 with an offset"),
        (raw(body(ts="0001-01-01T00:00:00+08:00")), "ts out of range"),
        (raw(body(battery=101)), "field 'battery' must be an integer 0..100"),
        (raw(body(battery=-1)), "field 'battery' must be an integer 0..100"),
        (raw(body(battery=87.5)), "field 'battery' must be an integer 0..100"),
        (raw(body(battery=True)), "field 'battery' must be an integer 0..100"),
        (raw(body(battery="87")), "field 'battery' must be an integer 0..100"),
        (raw(body(rssi="-71")), "field 'rssi' must be an integer -32768..32767"),
        (raw(body(rssi=10**12)), "field 'rssi' must be an integer -32768..32767"),
        (raw(body(rssi=False)), "field 'rssi' must be an integer -32768..32767"),
        (raw(body(loc=[36.6, 116.9])), "field 'loc' must be an object with lat and lon"),
        (raw(body(loc={"lat": 36.6})), "field 'loc.lon' must be a number -180..180"),
        (raw(body(loc={"lat": 91, "lon": 0})), "field 'loc.lat' must be a number -90..90"),
        (raw(body(loc={"lat": 0, "lon": -180.5})), "field 'loc.lon' must be a number -180..180"),
        (raw(body(loc={"lat": "36", "lon": 1})), "field 'loc.lat' must be a number -90..90"),
        (raw(body(loc={"lat": True, "lon": 1})), "field 'loc.lat' must be a number -90..90"),
    ],
)
def test_event_rejections(payload: bytes, reason: str) -> None:
    assert reject(EVENT_TOPIC, payload).reason == reason


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"ts": TS}, "missing field 'v'"),
        ({"v": 1}, "missing field 'ts'"),
        ({"v": 3, "ts": TS}, "unsupported protocol version 3"),
        ({"v": 1, "ts": "08:15"}, "ts must be ISO 8601 with an offset"),
        ({"v": 1, "ts": TS, "battery": 200}, "field 'battery' must be an integer 0..100"),
        ({"v": 1, "ts": TS, "rssi": -7.1}, "field 'rssi' must be an integer -32768..32767"),
        ({"v": 1, "ts": TS, "power": "solar"}, "field 'power' must be 'mains' or 'battery'"),
        ({"v": 1, "ts": TS, "power": 1}, "field 'power' must be 'mains' or 'battery'"),
        (
            {"v": 1, "ts": TS, "fw": "1" * 33},
            "field 'fw' must be a string of at most 32 printable characters",
        ),
        (
            {"v": 1, "ts": TS, "fw": 14},
            "field 'fw' must be a string of at most 32 printable characters",
        ),
        (
            {"v": 1, "ts": TS, "fw": "1.4\x00"},
            "field 'fw' must be a string of at most 32 printable characters",
        ),
    ],
)
def test_heartbeat_rejections(fields: dict[str, Any], reason: str) -> None:
    rejection = reject(HB_TOPIC, raw(fields))
    assert (rejection.reason, rejection.device_id, rejection.event_id) == (reason, DEV, None)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"ONLINE", "status must be 'online' or 'offline', got 'ONLINE'"),
        (b"", "status must be 'online' or 'offline', got ''"),
        (b'"online"', "status must be 'online' or 'offline', got '\"online\"'"),
        (b"\xff", "not valid UTF-8"),
        (b"online" + b" " * 4096, "payload over 4096 bytes"),
    ],
)
def test_status_rejections(payload: bytes, reason: str) -> None:
    rejection = reject(STATUS_TOPIC, payload)
    assert (rejection.reason, rejection.device_id) == (reason, DEV)


@pytest.mark.parametrize(
    ("topic", "reason", "device_id"),
    [
        ("other/terminals/T-0001/event", "topic not under 'eldercare/terminals/'", None),
        ("eldercare/devices/T-0001/event", "topic not under 'eldercare/terminals/'", None),
        ("eldercare/terminals/T 0001/event", "bad device_id in topic", None),
        ("eldercare/terminals//event", "bad device_id in topic", None),
        ("eldercare/terminals/" + "x" * 65 + "/event", "bad device_id in topic", None),
        ("eldercare/terminals/设备/event", "bad device_id in topic", None),
        ("eldercare/terminals/T-0001/ack", "unknown topic kind 'ack'", DEV),
        ("eldercare/terminals/T-0001", "unknown topic kind ''", DEV),
        ("eldercare/terminals/T-0001/event/x", "unknown topic kind 'event/x'", DEV),
    ],
)
def test_topic_rejections(topic: str, reason: str, device_id: str | None) -> None:
    rejection = reject(topic, raw(body()))
    assert (rejection.reason, rejection.device_id) == (reason, device_id)


def test_oversized_payload_is_rejected_with_its_event_id() -> None:
    payload = raw(body(event_id="big-1", pad="x" * 5000))
    rejection = reject(EVENT_TOPIC, payload)
    assert (rejection.reason, rejection.event_id) == ("payload over 4096 bytes", "big-1")
    huge = raw(body(event_id="huge-1", pad="x" * 70_000))
    assert reject(EVENT_TOPIC, huge).event_id is None  # too big to be worth parsing


def test_rejection_carries_event_id_whenever_one_is_readable() -> None:
    assert reject(EVENT_TOPIC, raw(body(type="foo"))).event_id == "e-1"
    assert reject(EVENT_TOPIC, raw(body(ts=...))).event_id == "e-1"
    assert reject(EVENT_TOPIC, raw(body(v=9))).event_id == "e-1"
    assert reject(EVENT_TOPIC, raw(body(event_id="a" * 65, type="foo"))).event_id is None
    assert reject(EVENT_TOPIC, b"{").event_id is None


# ---- encoders, acks, commands, topics ------------------------------------------------------


def test_encode_ack_matches_the_contract() -> None:
    assert json.loads(p.encode_ack("e-1", AckResult.ACCEPTED)) == {
        "event_id": "e-1",
        "result": "accepted",
    }
    encoded = p.encode_ack("e-1", AckResult.REJECTED, "unknown terminal T-9")
    assert json.loads(encoded)["reason"] == "unknown terminal T-9"
    assert p.decode_ack(encoded) == Ack("e-1", AckResult.REJECTED, "unknown terminal T-9")


@pytest.mark.parametrize(
    "payload",
    [b"", b"[]", b'{"event_id": "e"}', b'{"event_id": 1, "result": "accepted"}',
     b'{"event_id": "e", "result": "ok"}', b'{"event_id": "e", "result": "accepted", "reason": 1}'],
)  # fmt: skip
def test_decode_ack_refuses_what_is_not_an_ack(payload: bytes) -> None:
    assert p.decode_ack(payload) is None


def test_commands_round_trip() -> None:
    for command in (
        Command(CommandType.HELP_COMING, "a-17", "社区工作者张丽正在赶来"),
        Command(CommandType.ALARM_CLOSED, "a-17", None),
        Command(CommandType.PING, None, None),
    ):
        encoded = p.encode_command(command.type, command.alarm_id, command.text)
        assert p.decode_command(encoded) == command
    assert json.loads(p.encode_command(CommandType.PING, None, None)) == {"type": "ping"}
    assert p.decode_command(b'{"type": "reboot"}') is None
    assert p.decode_command(b'{"type": "ping", "text": 5}') is None


def test_topics() -> None:
    assert p.ack_topic("x/y", "T1") == "x/y/terminals/T1/ack"
    assert p.command_topic("x/y", "T1") == "x/y/terminals/T1/command"
    assert p.subscription_filters("eldercare") == [
        "eldercare/terminals/+/event",
        "eldercare/terminals/+/heartbeat",
        "eldercare/terminals/+/status",
    ]
    assert p.decode(STATUS_TOPIC, p.encode_status(online=False), prefix=PREFIX) == (
        StatusChange(DEV, online=False)
    )


# ---- properties ------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(["v", "event_id", "type", "ts", "battery", "rssi", "loc", "power"])
good_values = st.sampled_from([1, "e-1", "sos", TS, 87, -71, {"lat": 1, "lon": 2}, "mains"])
json_objects = st.dictionaries(field_names | st.text(max_size=5), good_values | json_values)
topics = st.text() | st.builds(
    lambda dev, kind: f"{PREFIX}/terminals/{dev}/{kind}",
    st.text(max_size=70),
    st.sampled_from(["event", "heartbeat", "status", "ack", ""]),
)
device_ids = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
    min_size=1,
    max_size=64,
)
event_ids = st.text(alphabet=[chr(c) for c in range(0x20, 0x7F)], min_size=1, max_size=64)
zones = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
# hypothesis takes naive bounds and attaches the generated zone
stamps = st.datetimes(
    datetime(1971, 1, 1),  # noqa: DTZ001
    datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=zones,
)


def _check(decoded: object) -> None:
    assert isinstance(decoded, DECODED_TYPES)
    if isinstance(decoded, Rejection):
        assert not decoded.reason.startswith("internal"), decoded.reason


@settings(max_examples=300, database=None)
@given(topic=topics, payload=st.binary(max_size=5000))
def test_any_bytes_on_any_topic_never_raise(topic: str, payload: bytes) -> None:
    _check(p.decode(topic, payload, prefix=PREFIX))


@settings(max_examples=500, database=None)
@given(kind=st.sampled_from(["event", "heartbeat"]), obj=json_objects)
def test_any_json_object_never_raises(kind: str, obj: dict[str, Any]) -> None:
    payload = json.dumps(obj).encode()
    decoded = p.decode(f"{PREFIX}/terminals/{DEV}/{kind}", payload, prefix=PREFIX)
    _check(decoded)
    if isinstance(decoded, Rejection) and len(payload) <= 4096:
        event_id = obj.get("event_id")
        readable = isinstance(event_id, str) and p.is_event_id(event_id)
        assert decoded.event_id == (event_id if readable else None)


@settings(max_examples=300, database=None)
@given(
    event=st.builds(
        TerminalEvent,
        device_id=device_ids,
        event_id=event_ids,
        type=st.sampled_from(EventType),
        ts=stamps,
        battery=st.none() | st.integers(0, 100),
        rssi=st.none() | st.integers(-32768, 32767),
        loc=st.none() | st.builds(Location, st.floats(-90, 90), st.floats(-180, 180)),
    )
)
def test_valid_events_round_trip_exactly(event: TerminalEvent) -> None:
    topic = p.event_topic(PREFIX, event.device_id)
    decoded = p.decode(topic, p.encode_event(event), prefix=PREFIX)
    assert decoded == event
    assert isinstance(decoded, TerminalEvent)
    assert decoded.ts.utcoffset() == event.ts.utcoffset()


@settings(max_examples=200, database=None)
@given(
    beat=st.builds(
        Heartbeat,
        device_id=device_ids,
        ts=stamps,
        battery=st.none() | st.integers(0, 100),
        rssi=st.none() | st.integers(-32768, 32767),
        power=st.none() | st.sampled_from(PowerSource),
        fw=st.none() | st.text(st.characters(codec="utf-8", categories=["L", "N"]), max_size=32),
    )
)
def test_valid_heartbeats_round_trip_exactly(beat: Heartbeat) -> None:
    topic = p.heartbeat_topic(PREFIX, beat.device_id)
    assert p.decode(topic, p.encode_heartbeat(beat), prefix=PREFIX) == beat


@settings(max_examples=200, database=None)
@given(event_id=st.text(), result=st.sampled_from(AckResult), reason=st.none() | st.text())
def test_acks_round_trip(event_id: str, result: AckResult, reason: str | None) -> None:
    assert p.decode_ack(p.encode_ack(event_id, result, reason)) == Ack(event_id, result, reason)


def test_decode_is_fast_enough_for_the_hot_path() -> None:
    payload = raw(body(battery=87, rssi=-71, loc={"lat": 36.67, "lon": 116.99}))
    started = time.perf_counter()
    for _ in range(20_000):
        p.decode(EVENT_TOPIC, payload, prefix=PREFIX)
    # generous: ~10 us each on the 2-core box; only a gross regression fails
    assert time.perf_counter() - started < 4.0
