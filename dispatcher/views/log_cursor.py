"""Reading the event log by change: which alarms got a timeline line since the last look.

Every change to an alarm writes a line to the event log, so the lines above the highest
id read so far name the alarms that changed. Ids are given at INSERT and seen at COMMIT,
so a transaction that took an id and commits after a later one's leaves a hole below
the highest id read: each hole is read again at every look until its line comes or
`gap_keep_s` has passed (a rolled-back INSERT, or a repeat that ON CONFLICT dropped,
leaves a hole that never fills). The cost of a look is the lines written since the
last, not the alarms open: a storm's 30,000 open alarms are not read each second.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.store.models import EventLog

GAP_KEEP_S = 60.0  # longer than any transaction of ours lasts, even in a storm
MAX_GAPS = 10_000  # the oldest holes go first beyond this


@dataclass
class LogCursor:
    """Where the last look left off (pure: the caller reads, and gives the time)."""

    top: int | None = None  # the highest id read; None before the first look
    gaps: dict[int, float] = field(default_factory=dict)  # hole id -> when first seen
    gap_keep_s: float = GAP_KEEP_S
    max_gaps: int = MAX_GAPS

    def start(self, highest: int | None) -> None:
        """The first look: the log as it stands is known, nothing in it is news."""
        self.top = highest or 0

    def advance(self, lines: Iterable[tuple[int, int | None]], *, now: float) -> dict[int, int]:
        """`lines` (id, alarm id) read above `top` or in a hole, at `now` (seconds of a
        monotonic clock): the alarms they name, each with its newest line among them,
        and the cursor moved past them."""
        if self.top is None:
            raise RuntimeError("start() first")
        changed: dict[int, int] = {}
        above: list[int] = []
        for line_id, alarm_id in lines:
            if alarm_id is not None:
                changed[alarm_id] = max(line_id, changed.get(alarm_id, 0))
            if line_id > self.top:
                above.append(line_id)
            else:
                self.gaps.pop(line_id, None)
        if above:
            seen = set(above)
            highest = max(above)
            # a jump past more holes than are kept (a sequence moved on by hand) is not
            # walked from its start
            for hole in range(max(self.top + 1, highest - self.max_gaps - len(seen)), highest):
                if hole not in seen:
                    self.gaps[hole] = now
            self.top = highest
        self.gaps = {
            hole: since for hole, since in self.gaps.items() if now - since < self.gap_keep_s
        }
        if len(self.gaps) > self.max_gaps:
            kept = sorted(self.gaps)[-self.max_gaps :]
            self.gaps = {hole: self.gaps[hole] for hole in kept}
        return changed


async def highest_line(*, session: AsyncSession) -> int | None:
    return await session.scalar(select(func.max(EventLog.id)))


async def lines_after(
    *, session: AsyncSession, top: int, holes: Collection[int]
) -> list[tuple[int, int | None]]:
    """The lines above `top` and in `holes`, as (id, alarm id)."""
    where = EventLog.id > top
    if holes:
        where = or_(where, EventLog.id.in_(sorted(holes)))
    rows = await session.execute(select(EventLog.id, EventLog.alarm_id).where(where))
    return [(line_id, alarm_id) for line_id, alarm_id in rows]
