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
