"""Which provider carries a message to a phone, and where it goes when that one fails.
Pure.

`notifications.routes` is an ordered list of number prefixes, first match wins (+86
through Alibaba Cloud, the rest through Twilio). A message whose provider fails (an
error, a failed report, or no report within `failover_s`) goes again, once, by the
next route that matches its number and names another provider.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    provider: str


def matching(phone: str, routes: Sequence[Route]) -> list[str]:
    """The providers whose prefix the number starts with, in order, each once."""
    found: list[str] = []
    for route in routes:
        if phone.startswith(route.prefix) and route.provider not in found:
            found.append(route.provider)
    return found


def first(phone: str | None, routes: Sequence[Route], default: str) -> str:
    """The provider of a first attempt: the first matching route, else `default`."""
    found = matching(phone or "", routes)
    return found[0] if found else default


def after(phone: str | None, routes: Sequence[Route], failed: str) -> str | None:
    """The next matching provider after `failed`, if any: where a failover goes."""
    found = matching(phone or "", routes)
    if failed not in found:
        return None
    rest = found[found.index(failed) + 1 :]
    return rest[0] if rest else None


# --- where a row is in its route -------------------------------------------------------

SEPARATOR = ">"


def failover_mark(failed: str, to: str) -> str:
    """What a row keeps once it failed over: from which provider to which."""
    return f"{failed}{SEPARATOR}{to}"


def provider_now(mark: str | None, phone: str | None, routes: Sequence[Route], default: str) -> str:
    """The provider a row goes by: its failover's target, else its first route."""
    if mark:
        return mark.split(SEPARATOR, 1)[1]
    return first(phone, routes, default)


@dataclass(frozen=True, slots=True)
class Failover:
    failed: str
    to: str
    why: str


def on_error(
    *, mark: str | None, phone: str | None, routes: Sequence[Route], default: str, why: str
) -> Failover | None:
    """A provider answered an error: the next route, unless the row failed over once."""
    if mark:
        return None
    failed = first(phone, routes, default)
    to = after(phone, routes, failed)
    return Failover(failed, to, why) if to else None


def unreported(
    *,
    mark: str | None,
    provider: str | None,
    phone: str | None,
    routes: Sequence[Route],
    sent_at: datetime | None,
    reported: bool,
    now: datetime,
    failover_s: float,
) -> Failover | None:
    """A row handed to `provider` that has had no report for `failover_s`: the next
    route, once. `reported`: any sign from the provider (a delivery report, a ring)."""
    if mark or reported or provider is None or sent_at is None:
        return None
    if now - sent_at < timedelta(seconds=failover_s):
        return None
    to = after(phone, routes, provider)
    if to is None:
        return None
    return Failover(provider, to, f"no report from {provider} in {failover_s:g} s")
