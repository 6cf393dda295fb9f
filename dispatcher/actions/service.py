"""Service requests (docs/daily-care.md): an operator sends one to a provider of the
resident's community, the provider (or an operator for them) says how far it is, and
`done` closes it. `rules.service` decides; this writes the change, its timeline line
and the provider's SMS in one transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.actions import alarms as actions
from dispatcher.rules import alarms as rules
from dispatcher.rules import service
from dispatcher.rules.notifications import Purpose
from dispatcher.rules.policy import AlarmKind
from dispatcher.store import outbox
from dispatcher.store.alarms import close_alarm
from dispatcher.store.event_log import alarm_entry
from dispatcher.store.models import Alarm, EventLog, Provider


async def dispatch(
    *, session: AsyncSession, alarm_id: int, provider_id: str, by: str, now: datetime
) -> Alarm:
    """Send the request to `provider_id`, one of the community's providers. The operator
    who sends it takes it, if nobody had; a provider sent before is replaced (its state
    starts again)."""
    alarm = await actions.locked(session, alarm_id)
    service.check_service(AlarmKind(alarm.kind), rules.Status(alarm.status))
    provider = await session.get(Provider, provider_id)
    if provider is None or provider.community_id != alarm.community_id:
        raise rules.TransitionError(
            422,
            f"no provider {provider_id!r} in the community of this alarm",
            reason="bad_provider",
        )
    if alarm.status == rules.Status.OPEN:
        await actions.acknowledge(session=session, alarm_id=alarm.id, by=by, now=now)
    # the same provider can be sent the request again: each sending is its own message
    sent_before = await session.scalar(
        select(func.count())
        .select_from(EventLog)
        .where(EventLog.alarm_id == alarm.id, EventLog.kind == "service_dispatched")
    )
    alarm.provider_id = provider.id
    alarm.service_state = None
    session.add(
        alarm_entry(
            "service_dispatched",
            alarm,
            at=now,
            actor=by,
            data={
                "provider_id": provider.id,
                "provider": provider.name,
                "category": provider.category,
            },
        )
    )
    await outbox.add(
        session,
        [
            outbox.base_row(
                alarm_id=alarm.id,
                purpose=Purpose.SERVICE,
                recipient_key=f"provider:{provider.id}",
                recipient_name=provider.name,
                phone=provider.phone,
                language="zh-CN",
                channel="sms",
                now=now,
                round_=int(sent_before or 0),
            )
        ],
    )
    return alarm


async def set_state(
    *,
    session: AsyncSession,
    alarm_id: int,
    state: service.ServiceState,
    by: str,
    via: str,
    now: datetime,
    provider_id: str | None = None,
    tell: bool = True,
) -> Alarm:
    """The service is `state` now, said by `by` (a provider replying, `provider_id`
    theirs, or an operator). `done` closes the request (outcome service_done)."""
    alarm = await actions.locked(session, alarm_id)
    try:
        change = service.change_state(
            AlarmKind(alarm.kind),
            rules.Status(alarm.status),
            alarm.service_state,
            state,
            provider_id=provider_id,
            current_provider=alarm.provider_id,
        )
    except rules.TransitionError as exc:
        if exc.reason == "taken" and alarm.provider_id is not None:
            # a reply names the provider, not its id
            other = await session.get(Provider, alarm.provider_id)
            exc.taken_by = other.name if other is not None else exc.taken_by
        raise
    if not change.changed:
        return alarm
    if change.acknowledges:
        key = f"provider:{provider_id}" if provider_id else None
        await actions.acknowledge(
            session=session, alarm_id=alarm.id, by=by, now=now, via=via, recipient_key=key
        )
    if provider_id is not None:
        alarm.provider_id = provider_id
    alarm.service_state = state.value
    session.add(
        alarm_entry(
            "service_state",
            alarm,
            at=now,
            actor=by,
            data={"state": state.value, "provider_id": alarm.provider_id, "via": via},
        )
    )
    if change.closes:
        session.add(
            close_alarm(
                alarm,
                outcome=rules.Outcome.SERVICE_DONE,
                by=by,
                now=now,
                by_operator=False,
                actor=by,
            )
        )
        closer = f"provider:{provider_id}" if provider_id is not None else None
        await actions.closed(session=session, alarm=alarm, now=now, tell=tell, closed_by=closer)
    return alarm
