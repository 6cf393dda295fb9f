"""Is a terminal online? Pure: last report, its own status, the expected period, now."""

from __future__ import annotations

from datetime import datetime, timedelta


def is_online(
    *,
    connected: bool,
    last_seen: datetime | None,
    now: datetime,
    interval_s: int,
    offline_after_missed: int,
) -> bool:
    """Online while the terminal says it is connected and its heartbeats keep coming:
    `offline_after_missed` missed periods, or its last will, make it offline."""
    if not connected or last_seen is None:
        return False
    return now - last_seen < timedelta(seconds=interval_s * offline_after_missed)


def offline_since(
    *,
    connected: bool,
    last_seen: datetime | None,
    last_heartbeat: datetime | None,
    status_changed_at: datetime | None,
    interval_s: int,
    offline_after_missed: int,
) -> datetime | None:
    """When a terminal became offline, as far as an alarm goes: `offline_after_missed`
    periods after it was last seen, or a whole period after its last will said offline
    (a blip of the connection is not an alarm). None for one that never sent a
    heartbeat: it cannot miss one."""
    if last_heartbeat is None:
        return None
    silent = last_seen if last_seen is not None else last_heartbeat
    candidates = [silent + timedelta(seconds=interval_s * offline_after_missed)]
    if not connected and status_changed_at is not None:
        candidates.append(status_changed_at + timedelta(seconds=interval_s))
    return min(candidates)
