"""The responder's page (docs/api.md): when its link works, what it shows to whom, which
buttons it offers, and how often it may be asked. Pure: the time is an argument.

Each button is the same as an SMS reply code; the reply rules (`rules.replies`) decide
what it does, so a link and an SMS can never disagree.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from dispatcher.rules.replies import Intent

# the link works while the alarm is open, and for a day after it closed (docs/api.md)
AFTER_CLOSE: Final = timedelta(hours=24)


class Button(StrEnum):
    TAKE = "take"  # reply 1
    DECLINE = "decline"  # reply 2
    ARRIVED = "arrived"  # reply 3
    DONE = "done"  # reply 4 (providers)


INTENT: Final[dict[Button, Intent]] = {
    Button.TAKE: Intent.ACCEPT,
    Button.DECLINE: Intent.DECLINE,
    Button.ARRIVED: Intent.ARRIVED,
    Button.DONE: Intent.DONE,
}
CODE: Final[dict[Button, str]] = {
    Button.TAKE: "1",
    Button.DECLINE: "2",
    Button.ARRIVED: "3",
    Button.DONE: "4",
}


def works(*, status: str, resolved_at: datetime | None, now: datetime) -> bool:
    """The link opens its page: the alarm is not closed, or closed less than a day ago."""
    if status != "resolved":
        return True
    return resolved_at is not None and now < resolved_at + AFTER_CLOSE


def kind_of(recipient_key: str) -> str:
    """worker, contact or provider: who the link was sent to."""
    return recipient_key.partition(":")[0]


def reads_medical(
    *, recipient_key: str, worker_community: str | None, alarm_community: str | None, status: str
) -> bool:
    """Medical notes only for a worker of the resident's community, while the alarm is
    open (not closed): a relative or a provider never reads them by link."""
    return (
        kind_of(recipient_key) == "worker"
        and worker_community is not None
        and worker_community == alarm_community
        and status != "resolved"
    )


def buttons(*, provider: bool, status: str, arrived: bool) -> tuple[Button, ...]:
    """What the person can still do: take or decline an alarm nobody took, say they are
    at the door while it is not closed (once they are, no more), a provider say it is done."""
    if status == "resolved":
        return ()
    shown: list[Button] = []
    if status == "open":
        shown += [Button.TAKE, Button.DECLINE]
    if not arrived:
        shown.append(Button.ARRIVED)
    if provider:
        shown.append(Button.DONE)
    return tuple(shown)


@dataclass(slots=True)
class Limiter:
    """At most `limit` requests per `window` for each key (a token, a client address):
    the link is the credential, so trying tokens or hammering one is slowed down."""

    limit: int
    window: timedelta
    _seen: dict[str, deque[datetime]] = field(default_factory=dict)

    def allow(self, key: str, now: datetime) -> bool:
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        if len(self._seen) > 10_000:  # forget the quiet keys: bounded memory
            for quiet in [k for k, t in self._seen.items() if not t or t[-1] <= now - self.window]:
                del self._seen[quiet]
        return True
