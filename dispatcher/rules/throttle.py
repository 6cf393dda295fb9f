"""How many calls and SMS one phone may get per window. Pure.

An alarm storm (a power cut across a district) must not flood one daughter's phone:
each phone gets at most `limit` messages per window; the last place is kept for one
summary of everything that was held back, so she still learns of every alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Throttle:
    limit: int  # messages (SMS and calls together) per phone per window, summary included
    window_s: int
    # a storm arrives over seconds: wait this long after the first held message, so one
    # summary covers the storm instead of a small summary now and the rest a window later
    gather_s: int = 30

    def __post_init__(self) -> None:
        if self.limit < 2:
            raise ValueError("a throttle needs room for at least one message and one summary")

    def may_send(self, sent_in_window: int) -> bool:
        """A normal message may go while one place is still left for a summary."""
        return sent_in_window < self.limit - 1

    def may_summarise(self, sent_in_window: int, first_held_at: datetime, now: datetime) -> bool:
        return sent_in_window < self.limit and now - first_held_at >= timedelta(
            seconds=self.gather_s
        )
