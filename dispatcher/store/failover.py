"""A message going again by the next route (`rules.routes`): on a provider's error, on
its failed report, or when it has not reported within `notifications.failover_s`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.rules import routes
from dispatcher.rules.notifications import PHONE_CHANNELS, Status
from dispatcher.rules.routes import Route
from dispatcher.store.deliveries import locked
from dispatcher.store.event_log import notification_entry
from dispatcher.store.models import Notification

ALIYUN_PREFIX = "aliyun:"
# statuses that are no sign of the phone: the provider took it, nothing rang yet
NOT_YET = ("queued", "accepted", "initiated")


def provider_of(sid: str | None) -> str | None:
    """Which provider took a message, by the id it gave (ours: `aliyun:`; Twilio's SM/CA)."""
    if not sid:
        return None
    return "aliyun" if sid.startswith(ALIYUN_PREFIX) else "twilio"


async def fail_over(
    *, session: AsyncSession, notification_id: int, move: routes.Failover, now: datetime
) -> bool:
    """Queue the message again for `move.to`, once; a line in the timeline. False when
    it failed over before (or is gone): nothing changes."""
    n = await locked(session=session, notification_id=notification_id)
    if n is None or n.failover:
        return False
    n.failover = routes.failover_mark(move.failed, move.to)
    n.status = Status.PENDING
    n.next_attempt_at = now
    # the first provider's id and status are not this send's: a late report of it
    # finds no row to move
    n.provider_sid = None
    n.provider_status = None
    n.doubted_at = None
    n.last_error = move.why[:1000]
    n.updated_at = now
    session.add(
        notification_entry(
            "notification_failover",
            n,
            at=now,
            actor="notifier",
            data={
                "from": move.failed,
                "to": move.to,
                "detail": f"{move.failed} → {move.to}: {move.why}"[:300],
            },
        )
    )
    return True


async def fail_over_unreported(
    *, session: AsyncSession, now: datetime, routes_: Sequence[Route], failover_s: float
) -> int:
    """Every message handed over `failover_s` ago with no word from its provider since
    goes by its next route. Returns how many."""
    rows = await session.execute(
        select(Notification.id, Notification.phone, Notification.provider_sid, Notification.sent_at)
        .where(
            Notification.status == Status.SENT,
            Notification.channel.in_(PHONE_CHANNELS),
            Notification.failover.is_(None),
            # a call only placed (no ring yet) is not reported on
            or_(
                Notification.provider_status.is_(None),
                Notification.provider_status.in_(NOT_YET),
            ),
            Notification.sent_at <= now - timedelta(seconds=failover_s),
        )
        .order_by(Notification.id)
        .limit(200)
    )
    moved = 0
    for notification_id, phone, sid, sent_at in list(rows):
        move = routes.unreported(
            mark=None,
            provider=provider_of(sid),
            phone=phone,
            routes=routes_,
            sent_at=sent_at,
            reported=False,
            now=now,
            failover_s=failover_s,
        )
        if move is None:
            continue
        n = await locked(session=session, notification_id=notification_id)
        # a report may have come meanwhile
        if n is None or n.status != Status.SENT or n.provider_status not in {None, *NOT_YET}:
            continue
        moved += await fail_over(
            session=session, notification_id=notification_id, move=move, now=now
        )
    return moved
