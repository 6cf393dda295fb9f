"""Terminals as the API shows them (`GET /api/terminals...`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from dispatcher.web.schemas.base import Answer, Query, Time


class Terminal(Answer):
    device_id: str
    resident_id: str | None
    online: bool
    """Connected and heard from within the heartbeat interval times the missed beats
    allowed."""
    connected: bool
    """What the terminal itself last reported (its retained status, or its last will)."""
    last_seen: Time | None
    battery: int | None
    """Percent, as last reported."""
    low_battery: bool
    rssi: int | None
    """Signal strength in dBm, as last reported."""
    power: str | None
    """`mains` or `battery`, as last reported."""
    fw: str | None
    """Firmware version, as last reported."""
    protocol: str = "mqtt"
    """How it reaches us: `mqtt` (protocol v1) or `dc09` (SIA DC-09, docs/protocol.md)."""


class TerminalResident(Answer):
    id: str
    name: str
    address: str
    community: str
    """The community's name."""


class TerminalLine(Terminal):
    """A terminal in the list, with who it belongs to."""

    resident: TerminalResident | None


def _yes(value: object) -> bool:
    # as the dashboard has always sent it: 1/true/yes means yes, anything else no
    return value in ("1", "true", "yes")


class TerminalsQuery(Query):
    problems: Annotated[bool, BeforeValidator(_yes)] = False
    """Only offline or low-battery ones (`1`, `true` or `yes`)."""
    limit: int = 500
    """At most this many (1 to 2000)."""
