"""Terminals of one community that go down together (docs/daily-care.md): a power cut gives
the operators one outage alarm, not one row per terminal. Pure: the shell gives a
community's terminals that are down and held by nobody, its open outage with how its
members stand, the thresholds and `now`; the rule answers with effects.

A terminal is down when it is offline (`rules.liveness.offline_since`) or reported
power_lost. A down terminal waits `window_s` before it raises an alarm of its own: if
meanwhile `min_terminals` of its community are down, they make one outage instead.
Later ones join the open outage, each leaves when it is back (online, power restored),
and the outage closes itself when all have left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Reason(StrEnum):
    OFFLINE = "offline"
    POWER_LOST = "power_lost"


OUTAGE = "outage"  # the alarm's type (kind device)


@dataclass(frozen=True, slots=True)
class Down:
    """A terminal down for `reason` since `since`, without an alarm of its own for it
    and held by no outage. A terminal both offline and without power comes twice."""

    device_id: str
    reason: Reason
    since: datetime


@dataclass(frozen=True, slots=True)
class Member:
    device_id: str
    back: bool  # online again and power restored


@dataclass(frozen=True, slots=True)
class OpenOutage:
    alarm_id: int
    members: tuple[Member, ...]  # the ones held now (not yet left)


@dataclass(frozen=True, slots=True)
class StartOutage:
    members: tuple[Down, ...]  # one per terminal


@dataclass(frozen=True, slots=True)
class Join:
    alarm_id: int
    member: Down


@dataclass(frozen=True, slots=True)
class Leave:
    alarm_id: int
    device_id: str


@dataclass(frozen=True, slots=True)
class CloseOutage:
    alarm_id: int


@dataclass(frozen=True, slots=True)
class OwnAlarm:
    """The terminal's own device alarm, of type `reason` (offline or power_lost)."""

    down: Down


Effect = StartOutage | Join | Leave | CloseOutage | OwnAlarm


@dataclass(frozen=True, slots=True)
class Decision:
    effects: tuple[Effect, ...]
    next_due: datetime | None  # when a waiting terminal's own alarm becomes due


def _one_per_terminal(down: Sequence[Down]) -> list[Down]:
    """The earliest trouble of each terminal, in the order they went down."""
    first: dict[str, Down] = {}
    for d in sorted(down, key=lambda d: (d.since, d.device_id, d.reason)):
        first.setdefault(d.device_id, d)
    return list(first.values())


def decide(
    down: Sequence[Down],
    outage: OpenOutage | None,
    *,
    now: datetime,
    min_terminals: int,
    window_s: int,
) -> Decision:
    """For one community."""
    hold = timedelta(seconds=window_s)
    effects: list[Effect] = []
    terminals = _one_per_terminal(down)
    if outage is not None:
        leaving = [m for m in outage.members if m.back]
        effects.extend(Leave(outage.alarm_id, m.device_id) for m in leaving)
        effects.extend(Join(outage.alarm_id, d) for d in terminals)
        if len(leaving) == len(outage.members) and not terminals:
            effects.append(CloseOutage(outage.alarm_id))
        return Decision(tuple(effects), None)
    # waiting: down for less than the window, so the window holds them all
    waiting = [d for d in terminals if d.since + hold > now]
    if len(waiting) >= min_terminals:
        effects.append(StartOutage(tuple(waiting)))
        grouped = {d.device_id for d in waiting}
        down = [d for d in down if d.device_id not in grouped]
    due = [d for d in down if d.since + hold <= now]
    effects.extend(OwnAlarm(d) for d in sorted(due, key=lambda d: (d.since, d.device_id)))
    later = [d.since + hold for d in down if d.since + hold > now]
    return Decision(tuple(effects), min(later) if later else None)
