"""What the provider took is recorded many at a time (issue 12): each row gets its own
SID and one log line, and a delivery report that came first is never undone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.rules.notifications import Status
from dispatcher.store.deliveries import Handed, mark_sent
from dispatcher.store.models import EventLog, Notification

Sessions = async_sessionmaker[AsyncSession]
CLAIMED = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
NOW = CLAIMED + timedelta(seconds=2)


def _row(i: int, channel: str, status: Status = Status.SENDING) -> Notification:
    return Notification(
        subject=f"test-{i}",
        purpose="summary",
        step=0,
        round=0,
        recipient_key=f"contact:{i}",
        recipient_name=f"家属{i}",
        phone=f"+861390000{i:04d}" if channel in {"sms", "voice"} else None,
        channel=channel,
        status=status,
        claimed_by="test",
        claimed_at=CLAIMED,
        attempts=1,
        next_attempt_at=CLAIMED,
        created_at=CLAIMED,
        sent_at=CLAIMED,
    )


async def test_a_batch_is_recorded_row_by_row(sessions: Sessions) -> None:
    channels = ["sms", "voice", "dashboard", "terminal", "sms"]
    async with sessions.begin() as session:
        rows = [_row(i, c) for i, c in enumerate(channels)]
        # the delivery report of the last one beat our write of its SID
        rows[-1].status = Status.DELIVERED
        session.add_all(rows)
    ids = [n.id for n in rows]
    async with sessions.begin() as session:
        await mark_sent(
            session=session,
            handed=[
                Handed(i, f"SM{i}" if c != "dashboard" else None)
                for i, c in zip(ids, channels, strict=True)
            ],
            now=NOW,
        )
    async with sessions() as session:
        got = {
            n.id: n
            for n in await session.scalars(select(Notification).where(Notification.id.in_(ids)))
        }
        logged = list(
            await session.scalars(select(EventLog).where(EventLog.kind == "notification_sent"))
        )
    assert [got[i].status for i in ids] == [
        Status.SENT,
        Status.SENT,
        Status.DELIVERED,
        Status.DELIVERED,
        Status.DELIVERED,  # kept: not taken back to `sent`
    ]
    assert [got[i].provider_sid for i in ids] == [
        "SM" + str(ids[0]),
        f"SM{ids[1]}",
        None,
        f"SM{ids[3]}",
        f"SM{ids[4]}",
    ]
    assert all(got[i].sent_at == CLAIMED and got[i].updated_at == NOW for i in ids)
    # one line each, the dashboard's none (it is the queue itself)
    sids = {e.data["notification_id"]: e.data["sid"] for e in logged if e.data is not None}
    assert sorted(sids) == [ids[0], ids[1], ids[3], ids[4]]
    assert len(logged) == 4
    assert sids[ids[1]] == f"SM{ids[1]}"


async def test_nothing_handed_writes_nothing(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        await mark_sent(session=session, handed=[], now=NOW)
    async with sessions() as session:
        assert list(await session.scalars(select(EventLog))) == []
