"""Daily check-ins as the API shows them (a resident's, and today's list for the
community's workers), and what a supervisor sends to set a window or a pause."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema, model_validator

from dispatcher.city_file.rows import REASON_MAX
from dispatcher.rules.checkins import TodayState, parse_window
from dispatcher.web.schemas.base import Answer, Day, Query, Sent, Time


class Checkin(Answer):
    """A resident's daily check-in (docs/daily-care.md) and how it stands today."""

    window: str | None
    """`HH:MM-HH:MM` in the city's time zone; none: no daily check-in."""
    paused_until: date | None
    """Nothing is raised while this is today or later (hospital, travel)."""
    pause_reason: str | None
    """Why it is paused (a hospital stay): health data, read as the medical notes are
    (supervisors and administrators; operators while the resident has an alarm not
    resolved), and every read of it is in the audit log."""
    pause_reason_withheld: bool = False
    """There is a reason, and the caller's work does not need it (null above)."""
    state: TodayState
    """Today: `waiting` (the window is still to come), `due` (open, not pressed yet),
    `checked_in`, `late` (pressed after the window), `missed`, `paused`, `no_window`."""
    day: date | None
    """The local day of the window that `state` is about (yesterday's while a window
    past midnight is still open)."""
    window_start: Time | None
    window_end: Time | None
    last_press_at: Time | None
    """The resident's last press that counts as a sign of life."""


class CheckinLine(Checkin):
    """One resident in today's list."""

    resident_id: str
    name: str
    address: str
    community_id: str
    community: str
    """The community's name."""
    alarm_id: int | None
    """The open missed check-in, if there is one."""


class CheckinsQuery(Query):
    community: str | None = None
    """Only the residents of this community (its id)."""


def _window(value: str | None) -> str | None:
    return None if value is None else str(parse_window(value))


Window = Annotated[
    str | None,
    AfterValidator(_window),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "pattern": r"^\d\d:\d\d-\d\d:\d\d$"}, {"type": "null"}]}
    ),
]


class CheckinEdit(Sent):
    """A resident's window and pause. A field that is left out stays as it is; `null`
    clears it."""

    window: Window = None
    """`HH:MM-HH:MM`, local; one whose end is before its start runs past midnight."""
    paused_until: Day | None = None
    """`YYYY-MM-DD`: nothing is raised until the end of that day."""
    reason: str | None = Field(None, max_length=REASON_MAX)
    """Why it is paused (hospital, travel)."""

    @model_validator(mode="after")
    def _something(self) -> CheckinEdit:
        if not self.model_fields_set:
            raise ValueError("give window, paused_until or reason")
        return self
