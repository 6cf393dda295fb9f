"""What people did to an alarm, told to the metrics and the log after it is committed:
taken (the time to acknowledge, by kind) and closed."""

from __future__ import annotations

import logging
from datetime import datetime

from dispatcher.logs import about
from dispatcher.store.alarms import get_alarm
from dispatcher.store.models import Alarm
from dispatcher.web.state import WebDeps

log = logging.getLogger("dispatcher.alarms")


def told(deps: WebDeps, alarm: Alarm, now: datetime, *, via: str) -> None:
    """Only what happened at `now`: a repeated take or close changed nothing."""
    ids = about(alarm.id, alarm.device_id)
    if alarm.acknowledged_at == now and alarm.resolved_at is None:
        waited = (now - alarm.created_at).total_seconds()
        deps.metrics.ack_seconds.labels(alarm.kind).observe(waited)
        log.info(
            "alarm %d taken by %s via %s after %.0f s",
            alarm.id,
            alarm.acknowledged_by,
            via,
            waited,
            extra=ids,
        )
    if alarm.resolved_at == now:
        log.info("alarm %d closed by %s: %s", alarm.id, alarm.resolved_by, alarm.outcome, extra=ids)


async def told_by_phone(deps: WebDeps, alarm_id: int, now: datetime) -> None:
    """After an SMS reply or a key pressed in a call changed the alarm."""
    async with deps.sessions() as session:
        alarm = await get_alarm(session=session, alarm_id=alarm_id)
    if alarm is not None:
        told(deps, alarm, now, via="phone")
