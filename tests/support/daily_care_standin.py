"""A STAND-IN for what daily care (issue 10) records and has not merged yet: arrival,
service states, missed check-ins and outages, written exactly as
`helpers/CONTRACT-daily-care.md` says (the alarm columns and `outage_members` rows, and
the event-log lines, through `store.alarms` and `store.event_log.log_entry`).

Only the reports' tests use it, to have what they count. When daily care lands, these
become its real routes (`POST /api/alarms/{id}/arrived`, `.../service`, the engine's
check-ins and outages) and this file goes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.rules.alarms import Outcome
from dispatcher.rules.policy import AlarmKind
from dispatcher.store.alarms import close_alarm, open_alarm, opened_entry
from dispatcher.store.event_log import log_entry
from dispatcher.store.models import Alarm, OutageMember

Sessions = async_sessionmaker[AsyncSession]


async def arrived(sessions: Sessions, alarm_id: int, *, by: str, at: datetime) -> None:
    """Someone is at the door: the first arrival sets `arrived_at`, every one is a line."""
    async with sessions.begin() as session:
        alarm = await session.get_one(Alarm, alarm_id)
        if alarm.arrived_at is None:
            alarm.arrived_at, alarm.arrived_by = at, by
        session.add(
            log_entry(
                "arrived",
                at=at,
                actor=by,
                alarm_id=alarm_id,
                device_id=alarm.device_id,
                data={"via": "dashboard"},
            )
        )


async def service_state(
    sessions: Sessions, alarm_id: int, *, state: str, provider_id: str, at: datetime
) -> None:
    """accepted, on_the_way or done; done closes the request with `service_done`."""
    async with sessions.begin() as session:
        alarm = await session.get_one(Alarm, alarm_id)
        alarm.provider_id, alarm.service_state = provider_id, state
        session.add(
            log_entry(
                "service_state",
                at=at,
                actor=f"provider:{provider_id}",
                alarm_id=alarm_id,
                device_id=alarm.device_id,
                data={"state": state, "provider_id": provider_id, "via": "sms"},
            )
        )
        if state == "done":
            session.add(
                close_alarm(
                    alarm,
                    outcome=Outcome.SERVICE_DONE,
                    by=f"provider:{provider_id}",
                    now=at,
                    by_operator=False,
                )
            )


async def missed_checkin(
    sessions: Sessions, *, resident_id: str, device_id: str, community_id: str, at: datetime
) -> int:
    """The engine's alarm for a window that ended without a press; a press closes it."""
    async with sessions.begin() as session:
        alarm = open_alarm(
            kind=AlarmKind.CHECKIN,
            type_="missed_checkin",
            priority=2,
            device_id=device_id,
            resident_id=resident_id,
            community_id=community_id,
            now=at,
        )
        session.add(alarm)
        await session.flush()
        session.add(opened_entry(alarm, alarm_id=alarm.id, actor="engine", now=at))
        return alarm.id


async def outage(
    sessions: Sessions,
    *,
    community_id: str,
    members: list[tuple[str, str, datetime, datetime]],
) -> int:
    """One outage alarm of the community, its members (device, reason, joined, left)
    joining and leaving, closed `resolved_itself` when the last is back."""
    opened_at = min(joined for _, _, joined, _ in members)
    closed_at = max(left for _, _, _, left in members)
    async with sessions.begin() as session:
        alarm = open_alarm(
            kind=AlarmKind.DEVICE,
            type_="outage",
            priority=3,
            device_id=None,
            resident_id=None,
            community_id=community_id,
            now=opened_at,
        )
        session.add(alarm)
        await session.flush()
        session.add(opened_entry(alarm, alarm_id=alarm.id, actor="engine", now=opened_at))
        for device_id, reason, joined, left in members:
            session.add(
                OutageMember(
                    alarm_id=alarm.id,
                    device_id=device_id,
                    reason=reason,
                    joined_at=joined,
                    left_at=left,
                )
            )
            for kind, at in (("outage_joined", joined), ("outage_left", left)):
                session.add(
                    log_entry(
                        kind,
                        at=at,
                        actor="engine",
                        alarm_id=alarm.id,
                        device_id=device_id,
                        data={"reason": reason},
                    )
                )
        session.add(
            close_alarm(
                alarm,
                outcome=Outcome.RESOLVED_ITSELF,
                by="engine",
                now=closed_at,
                by_operator=False,
            )
        )
        return alarm.id
