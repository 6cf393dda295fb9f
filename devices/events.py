"""Typed messages of a terminal, whatever its wire format.

A codec turns (topic, bytes) into one of these; the service never sees raw JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


class EventType(StrEnum):
    SOS = "sos"
    FALL = "fall"
    SERVICE = "service"
    CANCEL = "cancel"
    CHECKIN = "checkin"
    LOW_BATTERY = "low_battery"
    POWER_LOST = "power_lost"
    POWER_RESTORED = "power_restored"
    TAMPER = "tamper"
    TEST = "test"


class AckResult(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class CommandType(StrEnum):
    HELP_COMING = "help_coming"
    ALARM_CLOSED = "alarm_closed"
    PING = "ping"


class PowerSource(StrEnum):
    MAINS = "mains"
    BATTERY = "battery"


@dataclass(frozen=True, slots=True)
class Location:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class TerminalEvent:
    """A press or a state report that the terminal repeats until acknowledged."""

    device_id: str
    event_id: str
    type: EventType
    ts: datetime  # aware, as the terminal stated it
    battery: int | None = None
    rssi: int | None = None
    loc: Location | None = None
    # what a terminal of another protocol said, as it said it (DC-09: `protocol`, `code`
    # like `CID 1100 z001`, `cid` or `sia` with the bare code): kept with the event
    detail: tuple[tuple[str, str], ...] = ()
    # sent by the terminal of itself, not pressed (a DC-09 panel's periodic test report):
    # no sign that the resident is well, so it is no check-in
    automatic: bool = False


@dataclass(frozen=True, slots=True)
class TerminalReport:
    """An event of a DC-09 terminal that is no event type of ours (a fire alarm, an
    opening report, ...): stored once and shown, it raises nothing. `missed_checkin`:
    the terminal itself says its resident missed a check-in (Contact ID 102)."""

    device_id: str
    event_id: str
    ts: datetime
    detail: tuple[tuple[str, str], ...] = ()
    missed_checkin: bool = False


@dataclass(frozen=True, slots=True)
class Heartbeat:
    device_id: str
    ts: datetime
    battery: int | None = None
    rssi: int | None = None
    power: PowerSource | None = None
    fw: str | None = None


@dataclass(frozen=True, slots=True)
class StatusChange:
    """The retained `online` on connect, or `offline` as the terminal's last will."""

    device_id: str
    online: bool


@dataclass(frozen=True, slots=True)
class Rejection:
    """Input the codec could not accept. `event_id` is set when it could be read,
    so the terminal can be answered and stop repeating."""

    topic: str
    reason: str
    raw: bytes
    device_id: str | None = None
    event_id: str | None = None


class Ack(NamedTuple):
    """The backend's answer to one event, as the terminal reads it."""

    event_id: str
    result: AckResult
    reason: str | None = None


class Command(NamedTuple):
    """A message from the backend to the terminal (help is coming, alarm closed, ping)."""

    type: CommandType
    alarm_id: str | None = None
    text: str | None = None


Decoded = TerminalEvent | Heartbeat | StatusChange | Rejection
