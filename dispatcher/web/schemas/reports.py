"""The daily report (docs/daily-care.md): the rows of `dispatcher report` as JSON."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import Field, model_validator

from dispatcher.rules.reports import MAX_API_DAYS
from dispatcher.web.schemas.base import Answer, Day, Query


class ReportQuery(Query):
    from_: Day | None = Field(None, alias="from")
    """The first local date (default: six days before `to`)."""
    to: Day | None = None
    """The last local date (default: today in the city's time zone)."""
    community: str | None = None
    """One community's id; all of them when left out."""

    @model_validator(mode="after")
    def _a_range_in_order(self) -> Self:
        if self.from_ is not None and self.to is not None:
            if self.to < self.from_:
                raise ValueError("`to` is before `from`")
            if (self.to - self.from_).days >= MAX_API_DAYS:
                raise ValueError(f"at most {MAX_API_DAYS} days at once")
        return self


class DailyRow(Answer):
    """One community on one local day. Percentages are 0-100 with one decimal, null where
    there is nothing to count; the exact definitions are in the README."""

    date: date
    community_id: str
    emergencies: int
    acked_within_60s_pct: float | None
    """Emergencies answered (taken, or closed by a person) within 60 s."""
    acked_within_180s_pct: float | None
    median_ack_s: float | None
    attended_within_45min_pct: float | None
    """Of the emergencies someone reached, or that needed someone and stayed open past 45
    minutes: those reached within 45 minutes."""
    service_requests: int
    service_done: int
    checkins_missed: int
    terminals_offline: int
    offline_terminal_minutes: float


class PeriodRow(Answer):
    """The city's (`community_id` null) or one community's figures over the whole range:
    shares of the range's counts, null where there is nothing to count."""

    community_id: str | None
    emergencies: int
    acked_within_60s_pct: float | None
    acked_within_180s_pct: float | None
    attended_within_45min_pct: float | None
    shortfall: float
    """Points below target, added over the three shares: 0 when every target is met."""


class ReportTargets(Answer):
    answer_60: float
    answer_180: float
    attend_45: float


class ReportSummary(Answer):
    """The city against the targets (`reports:` in config.yaml), then its communities,
    worst first (most points below target)."""

    first: date
    """The range's first local date."""
    last: date
    targets: ReportTargets
    city: PeriodRow
    communities: list[PeriodRow]
