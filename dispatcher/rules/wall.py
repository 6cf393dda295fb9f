"""The wallboard's city figures (docs/api.md): today's counts of every community added
up, then the shares of the daily report's rules (`rules.reports`), so the wall and the
report never disagree. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from dispatcher.rules.reports import AlarmCounts, pct


@dataclass(frozen=True, slots=True)
class Shares:
    answered_60_pct: Decimal | None
    answered_180_pct: Decimal | None
    attended_45_pct: Decimal | None
    emergencies: int
    checkins_missed: int


def city_shares(counts: Iterable[AlarmCounts]) -> Shares:
    """The city's shares today from each community's counts: sums of parts over sums of
    wholes (never an average of percentages)."""
    rows = list(counts)
    return Shares(
        answered_60_pct=pct(sum(c.answered_60 for c in rows), sum(c.counted_60 for c in rows)),
        answered_180_pct=pct(sum(c.answered_180 for c in rows), sum(c.counted_180 for c in rows)),
        attended_45_pct=pct(sum(c.attended for c in rows), sum(c.counted_attended for c in rows)),
        emergencies=sum(c.emergencies for c in rows),
        checkins_missed=sum(c.checkins_missed for c in rows),
    )
