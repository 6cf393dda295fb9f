"""How long failed logins make the next attempt wait. Pure.

Two counters, each of attempts not (yet) known to have succeeded (an attempt is
counted before its password is checked, so that guesses sent in parallel count too):

- one user from one address: a few typos are free, then each failure doubles the wait,
  up to 15 minutes. It slows down whoever guesses that user's password from there and
  nobody else: the same user logs in from every other address as usual, so no one can
  lock an operator out by failing on purpose.
- one address, whichever users: more are free (a call centre behind one NAT), then the
  same doubling. It slows down one address trying many users.

A success from an address clears its count for that user and takes one off the
address's. A guesser with very many addresses is slowed per address only: that limit
is the price of never locking a user out from elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

MAX_WAIT_S: Final = 900.0
# a count this old starts again; long, since it only ever slows one user at one address
FORGET_AFTER: Final = timedelta(hours=24)


class Scope(StrEnum):
    USER_AT_ADDRESS = "user_at_address"
    ADDRESS = "address"


FREE: Final = {Scope.USER_AT_ADDRESS: 5, Scope.ADDRESS: 30}


@dataclass(frozen=True, slots=True)
class Count:
    failures: int
    last_at: datetime


def wait_after(failures: int, free: int) -> float:
    """Seconds to wait after `failures` attempts: none while they are free, then 2, 4,
    8 ... up to `MAX_WAIT_S`."""
    if failures < free:
        return 0.0
    return min(2.0 ** min(failures - free + 1, 20), MAX_WAIT_S)


def current(count: Count | None, now: datetime) -> int:
    """The failures that still count."""
    if count is None or now - count.last_at >= FORGET_AFTER:
        return 0
    return count.failures


def retry_after(counts: dict[Scope, Count | None], now: datetime) -> float | None:
    """Seconds until another attempt is allowed, or None when it is allowed now."""
    waits = []
    for scope, count in counts.items():
        failures = current(count, now)
        if count is None or failures == 0:
            continue
        until = count.last_at + timedelta(seconds=wait_after(failures, FREE[scope]))
        if until > now:
            waits.append((until - now).total_seconds())
    return max(waits) if waits else None
