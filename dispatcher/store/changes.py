"""What a committed write changed, as a typed value: the store's operations (a batch of
terminal events, an operator's action, a pass of the engine, a send of the notifier)
return it, and `dispatcher.after_commit` alone turns it into metrics, log lines,
wake-ups and the live feed. Nothing here does I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dispatcher.store.models import Alarm


@dataclass(frozen=True, slots=True)
class Opened:
    alarm_id: int
    kind: str
    device_id: str | None


@dataclass(frozen=True, slots=True)
class Taken:
    alarm_id: int
    kind: str
    by: str | None
    via: str
    waited_s: float
    device_id: str | None


@dataclass(frozen=True, slots=True)
class Closed:
    alarm_id: int
    outcome: str
    by: str | None
    device_id: str | None


@dataclass(slots=True)
class Changes:
    opened: list[Opened] = field(default_factory=list)
    taken: list[Taken] = field(default_factory=list)
    closed: list[Closed] = field(default_factory=list)
    # every alarm whose screens changed (the live feed)
    alarms: list[int] = field(default_factory=list)
    # escalation steps may be due: new alarms, a notification's end moved a step
    steps: bool = False
    # what the engine looks at beside the steps changed: a terminal's power, a
    # check-in window, an operator's action
    terminals: bool = False
    # messages were queued, or a terminal command: the notifier has work
    outbox: bool = False

    def merge(self, other: Changes) -> None:
        self.opened += other.opened
        self.taken += other.taken
        self.closed += other.closed
        self.alarms += other.alarms
        self.steps |= other.steps
        self.terminals |= other.terminals
        self.outbox |= other.outbox

    def __bool__(self) -> bool:
        return bool(
            self.opened
            or self.taken
            or self.closed
            or self.alarms
            or self.steps
            or self.terminals
            or self.outbox
        )

    @classmethod
    def of_action(cls, alarm: Alarm, now: datetime, *, via: str) -> Changes:
        """What a person's action at `now` did to `alarm`: the engine and the notifier
        look (steps cancelled, a terminal command, contacts told), the screens change;
        taken and closed only when that happened at `now` (a repeated take or close
        changed nothing)."""
        changes = cls(alarms=[alarm.id], steps=True, terminals=True, outbox=True)
        if alarm.acknowledged_at == now and alarm.resolved_at is None:
            waited = (now - alarm.created_at).total_seconds()
            changes.taken.append(
                Taken(alarm.id, alarm.kind, alarm.acknowledged_by, via, waited, alarm.device_id)
            )
        if alarm.resolved_at == now:
            changes.closed.append(
                Closed(alarm.id, alarm.outcome or "", alarm.resolved_by, alarm.device_id)
            )
        return changes
