"""Protocol v1 of the terminals (docs/protocol.md): topics, and payloads <-> typed messages.

`decode` is total: it never raises. Whatever it cannot accept becomes a Rejection with an
English reason, carrying the device_id and event_id when they can be read, so that the
terminal can be answered and stops repeating.

Choices the contract leaves open, made here:
- event_id: 1 to 64 characters from 0x20 to 0x7E ("printable ASCII" as C's isprint,
  so a space is allowed: rejecting it would reject terminals that follow the contract).
- Unknown fields are ignored (the contract grows only by new optional fields), and an
  optional field sent as null counts as absent. Booleans never pass as numbers.
- rssi: an integer in -32768..32767, so that any SQL integer column holds it.
- ts: ISO 8601 with a UTC offset ("Z" counts) that can be converted to UTC.
- Payloads are UTF-8: `json.loads` on bytes would also guess UTF-16 and UTF-32.
  NaN and Infinity are not JSON and are rejected.
- An oversized payload (up to 64 KiB) is still parsed for its event_id, so that the
  terminal learns it was rejected instead of repeating forever.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from devices.events import (
    Ack,
    AckResult,
    Command,
    CommandType,
    Decoded,
    EventType,
    Heartbeat,
    Location,
    PowerSource,
    Rejection,
    StatusChange,
    TerminalEvent,
)

VERSION = 1
MAX_PAYLOAD = 4096
_PEEK_LIMIT = 65536  # largest oversized payload still parsed to read its event_id
_FW_MAX = 32
_RSSI_RANGE = (-32768, 32767)

_DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_EVENT_ID = re.compile(r"[\x20-\x7e]{1,64}")
_EVENT_TYPES = {t.value: t for t in EventType}
_POWER = {p.value: p for p in PowerSource}
_ACK_RESULTS = {r.value: r for r in AckResult}
_COMMANDS = {c.value: c for c in CommandType}
_KINDS = frozenset({"event", "heartbeat", "status"})
_BAD_TS = "ts must be ISO 8601 with an offset"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_JSON = json.JSONDecoder(parse_constant=_no_constants)


class _RejectError(Exception):
    """A reason to reject, raised deep in a field check and caught in `decode`."""


# ---- topics -------------------------------------------------------------------------


def event_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/terminals/{device_id}/event"


def heartbeat_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/terminals/{device_id}/heartbeat"


def status_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/terminals/{device_id}/status"


def ack_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/terminals/{device_id}/ack"


def command_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/terminals/{device_id}/command"


EVENTS = ("event",)
LIVENESS = ("heartbeat", "status")


def subscription_filters(prefix: str, kinds: tuple[str, ...] = EVENTS + LIVENESS) -> list[str]:
    """What the backend subscribes to: everything terminals send, or only `kinds`."""
    return [f"{prefix}/terminals/+/{kind}" for kind in kinds]


def is_device_id(value: str) -> bool:
    return _DEVICE_ID.fullmatch(value) is not None


def is_event_id(value: str) -> bool:
    return _EVENT_ID.fullmatch(value) is not None


# ---- decoding -----------------------------------------------------------------------


def decode(topic: str, payload: bytes, *, prefix: str) -> Decoded:
    """One message from a terminal as a typed message or a Rejection; never raises."""
    try:
        return _decode(topic, payload, prefix)
    except Exception as exc:  # a bug here must not stop the listener: log it as rejected
        return Rejection(topic=topic, reason=f"internal decoder error: {exc!r}"[:200], raw=payload)


def _decode(topic: str, payload: bytes, prefix: str) -> Decoded:
    head = f"{prefix}/terminals/"
    device_id: str | None = None
    problem: str | None = None
    if not topic.startswith(head):
        problem, kind = f"topic not under '{head}'", ""
    else:
        device_id, _, kind = topic[len(head) :].partition("/")
        if not is_device_id(device_id):
            problem, device_id = "bad device_id in topic", None
        elif kind not in _KINDS:
            problem = f"unknown topic kind {_show(kind)}"
    if problem is None and kind == "status":
        return _status(topic, payload, device_id or "")

    body, body_problem = _load(payload)
    raw_id = body.get("event_id") if body is not None else None
    event_id = raw_id if isinstance(raw_id, str) and is_event_id(raw_id) else None
    problem = problem or body_problem
    if problem is None and body is not None and device_id is not None:
        try:
            if kind == "heartbeat":
                return _heartbeat(body, device_id)
            return _event(body, device_id, event_id)
        except _RejectError as bad:
            problem = str(bad)
    return Rejection(
        topic=topic,
        reason=problem or "not a JSON object",
        raw=payload,
        device_id=device_id,
        event_id=event_id,
    )


def _load(payload: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object of a payload and what is wrong with it, if anything.
    An oversized payload is a problem but may still yield a body for its event_id."""
    size_problem = f"payload over {MAX_PAYLOAD} bytes" if len(payload) > MAX_PAYLOAD else None
    if len(payload) > _PEEK_LIMIT:
        return None, size_problem
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None, size_problem or "not valid UTF-8"
    try:
        body = _JSON.decode(text)
    except (ValueError, RecursionError):
        return None, size_problem or "not valid JSON"
    if not isinstance(body, dict):
        return None, size_problem or "not a JSON object"
    return body, size_problem


def _status(topic: str, payload: bytes, device_id: str) -> Decoded:
    if len(payload) > MAX_PAYLOAD:
        reason = f"payload over {MAX_PAYLOAD} bytes"
    else:
        try:
            text = payload.decode("utf-8").strip()
        except UnicodeDecodeError:
            reason = "not valid UTF-8"
        else:
            if text in ("online", "offline"):
                return StatusChange(device_id=device_id, online=text == "online")
            reason = f"status must be 'online' or 'offline', got {_show(text)}"
    return Rejection(topic=topic, reason=reason, raw=payload, device_id=device_id)


def _event(body: dict[str, Any], device_id: str, event_id: str | None) -> TerminalEvent:
    _version(body)
    if event_id is None:
        if body.get("event_id") is None:
            raise _RejectError("missing field 'event_id'")
        raise _RejectError("event_id must be 1 to 64 printable ASCII characters")
    kind = _required(body, "type")
    event_type = _EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if event_type is None:
        raise _RejectError(f"unknown event type {_show(kind)}")
    return TerminalEvent(
        device_id=device_id,
        event_id=event_id,
        type=event_type,
        ts=_ts(body),
        battery=_int(body, "battery", 0, 100),
        rssi=_int(body, "rssi", *_RSSI_RANGE),
        loc=_loc(body),
    )


def _heartbeat(body: dict[str, Any], device_id: str) -> Heartbeat:
    _version(body)
    ts = _ts(body)
    power = body.get("power")
    if power is not None:
        power = _POWER.get(power) if isinstance(power, str) else None
        if power is None:
            raise _RejectError("field 'power' must be 'mains' or 'battery'")
    fw = body.get("fw")
    if fw is not None and not (isinstance(fw, str) and len(fw) <= _FW_MAX and fw.isprintable()):
        raise _RejectError(f"field 'fw' must be a string of at most {_FW_MAX} printable characters")
    return Heartbeat(
        device_id=device_id,
        ts=ts,
        battery=_int(body, "battery", 0, 100),
        rssi=_int(body, "rssi", *_RSSI_RANGE),
        power=power,
        fw=fw,
    )


def _required(body: dict[str, Any], name: str) -> Any:
    value = body.get(name)
    if value is None:
        raise _RejectError(f"missing field '{name}'")
    return value


def _version(body: dict[str, Any]) -> None:
    v = _required(body, "v")
    if type(v) is not int:
        raise _RejectError(f"field 'v' must be an integer, got {_show(v)}")
    if v != VERSION:
        raise _RejectError(f"unsupported protocol version {_show(v)}")


def _ts(body: dict[str, Any]) -> datetime:
    raw = _required(body, "ts")
    try:
        ts = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        ts = None
    if ts is None or ts.utcoffset() is None:
        raise _RejectError(_BAD_TS)
    try:
        ts.astimezone(UTC)  # the store keeps UTC: year 1 at +08:00 has no UTC form
    except OverflowError:
        raise _RejectError("ts out of range") from None
    return ts


def _int(body: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if type(value) is not int or not low <= value <= high:
        raise _RejectError(f"field '{name}' must be an integer {low}..{high}")
    return value


def _loc(body: dict[str, Any]) -> Location | None:
    loc = body.get("loc")
    if loc is None:
        return None
    if not isinstance(loc, dict):
        raise _RejectError("field 'loc' must be an object with lat and lon")
    return Location(lat=_coord(loc, "lat", 90.0), lon=_coord(loc, "lon", 180.0))


def _coord(loc: dict[str, Any], name: str, limit: float) -> float:
    value = loc.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool) and -limit <= value <= limit:
        return float(value)
    raise _RejectError(f"field 'loc.{name}' must be a number {-limit:g}..{limit:g}")


def _show(value: Any) -> str:
    """A value quoted for a reason, short: reasons are logged and sent back."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        text = "<unprintable>"
    return text if len(text) <= 40 else text[:37] + "..."


# ---- encoding, and decoding of what the backend sends ----------------------------------


def _dumps(body: dict[str, Any]) -> bytes:
    # ASCII-escaped, so any str (even a lone surrogate) encodes
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode("ascii")


def encode_ack(event_id: str, result: AckResult, reason: str | None = None) -> bytes:
    body: dict[str, Any] = {"event_id": event_id, "result": result.value}
    if reason is not None:
        body["reason"] = reason
    return _dumps(body)


def encode_command(type: CommandType, alarm_id: str | None, text: str | None) -> bytes:  # noqa: A002
    body: dict[str, Any] = {"type": type.value}
    if alarm_id is not None:
        body["alarm_id"] = alarm_id
    if text is not None:
        body["text"] = text
    return _dumps(body)


def encode_event(event: TerminalEvent) -> bytes:
    body: dict[str, Any] = {
        "v": VERSION,
        "event_id": event.event_id,
        "type": event.type.value,
        "ts": event.ts.isoformat(),
    }
    if event.battery is not None:
        body["battery"] = event.battery
    if event.rssi is not None:
        body["rssi"] = event.rssi
    if event.loc is not None:
        body["loc"] = {"lat": event.loc.lat, "lon": event.loc.lon}
    return _dumps(body)


def encode_heartbeat(beat: Heartbeat) -> bytes:
    body: dict[str, Any] = {"v": VERSION, "ts": beat.ts.isoformat()}
    power = beat.power.value if beat.power is not None else None
    optional = {"battery": beat.battery, "rssi": beat.rssi, "power": power, "fw": beat.fw}
    body.update((k, v) for k, v in optional.items() if v is not None)
    return _dumps(body)


def encode_status(*, online: bool) -> bytes:
    return b"online" if online else b"offline"


def decode_ack(payload: bytes) -> Ack | None:
    """An ack as a terminal reads it, or None if it is not one."""
    body, _ = _load(payload)  # the backend's messages have no 4 KiB limit
    if body is None:
        return None
    event_id, result, reason = body.get("event_id"), body.get("result"), body.get("reason")
    ack_result = _ACK_RESULTS.get(result) if isinstance(result, str) else None
    if not isinstance(event_id, str) or ack_result is None:
        return None
    if reason is not None and not isinstance(reason, str):
        return None
    return Ack(event_id=event_id, result=ack_result, reason=reason)


def decode_command(payload: bytes) -> Command | None:
    """A command as a terminal reads it, or None if it is not one."""
    body, _ = _load(payload)
    if body is None:
        return None
    kind, alarm_id, text = body.get("type"), body.get("alarm_id"), body.get("text")
    command = _COMMANDS.get(kind) if isinstance(kind, str) else None
    if command is None:
        return None
    if not all(v is None or isinstance(v, str) for v in (alarm_id, text)):
        return None
    return Command(type=command, alarm_id=alarm_id, text=text)
