"""How long failed logins make the next attempt wait. Pure.

The aim: slow down whoever guesses passwords, and never let anyone lock out an operator
who knows theirs. Counters of attempts not (yet) known to have succeeded (an attempt is
counted before its password is checked, so that guesses sent in parallel count too):

- one user from one address: a few typos are free, then each failure doubles the wait,
  up to 15 minutes. It slows down whoever guesses that user's password from there and
  nobody else: the same user logs in from every other address as usual.
- one address, whichever users: more are free (a call centre behind one NAT), then the
  same doubling. It slows down one address trying many users (password spraying).
- one trusted device: a successful login gives the browser (a cookie) or the API client
  (`device` in the answer, sent back with the next login) a device token of that user.
  An attempt with it for that user is counted on the token alone, never on the two
  counters above: failures from the same address (made-up names, or the user's own
  name, from anyone behind the same NAT or proxy) do not touch it, and only who holds
  the token can slow it down. This is OWASP's "device cookie" answer to lockout.

And an address that is over its limit still lets through a correct password of a user
who has logged in from that address before (within `KNOWN_FOR`): flooding a call
centre's shared address with made-up names locks out none of its operators. Not every
existing user is let through: an address trying the real names of a city (op1, op2...)
would then get the per-user allowance for each, and the address limit would stop no
spraying at all. What is left to an attacker who shares the address: slowing down one
named user there who has no device token yet (a first login on a new machine); that
user logs in from another address, or waits.

A success clears its own counter (the pair's, or the device's) and takes one off the
address's. A guesser with very many addresses is slowed per address only: that limit is
the price of never locking a user out from elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

MAX_WAIT_S: Final = 900.0
# a count this old starts again; long, since it only ever slows one user at one address
FORGET_AFTER: Final = timedelta(hours=24)
# a user who logged in from an address this recently passes its limit with their password
KNOWN_FOR: Final = timedelta(days=30)
# a device token unused this long ends
DEVICE_FOR: Final = timedelta(days=180)


class Scope(StrEnum):
    USER_AT_ADDRESS = "user_at_address"
    ADDRESS = "address"
    DEVICE = "device"


FREE: Final = {Scope.USER_AT_ADDRESS: 5, Scope.ADDRESS: 30, Scope.DEVICE: 5}


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


def _wait(scope: Scope, count: Count | None, now: datetime) -> float | None:
    failures = current(count, now)
    if count is None or failures == 0:
        return None
    until = count.last_at + timedelta(seconds=wait_after(failures, FREE[scope]))
    return (until - now).total_seconds() if until > now else None


def retry_after(
    counts: Mapping[Scope, Count | None], now: datetime, *, known_here: bool = False
) -> float | None:
    """Seconds until another attempt is allowed, or None when it may be checked now.

    `counts` are the counters of this attempt: the device's alone for a trusted device,
    else the pair's and the address's. `known_here`: the user has logged in from this
    address within `KNOWN_FOR`, so the address's count does not hold them back (their
    own pair's does)."""
    waits = []
    for scope, count in counts.items():
        if scope is Scope.ADDRESS and known_here:
            continue
        wait = _wait(scope, count, now)
        if wait is not None:
            waits.append(wait)
    return max(waits) if waits else None


def known_here(last_success: datetime | None, now: datetime) -> bool:
    return last_success is not None and now - last_success < KNOWN_FOR


def device_valid(last_used: datetime | None, now: datetime) -> bool:
    return last_used is not None and now - last_used < DEVICE_FOR
