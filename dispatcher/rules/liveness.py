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


def needs_offline_alarm(
    *,
    connected: bool,
    last_seen: datetime | None,
    last_heartbeat: datetime | None,
    status_changed_at: datetime | None,
    now: datetime,
    interval_s: int,
    offline_after_missed: int,
) -> bool:
    """A terminal that has been beating and went quiet for `offline_after_missed`
    periods, or whose last will said offline a whole period ago (a blip of the
    connection is not an alarm). One that never sent a heartbeat cannot miss one."""
    if last_heartbeat is None:
        return False
    if last_seen is None or now - last_seen >= timedelta(seconds=interval_s * offline_after_missed):
        return True
    return (
        not connected
        and status_changed_at is not None
        and now - status_changed_at >= timedelta(seconds=interval_s)
    )
