"""An operator closes a service request while its SMS to the provider is on its way
(docs/daily-care.md). Whatever the timing, one of two outcomes: the SMS never goes (the
close came before the notifier claimed it), or it goes and the provider then hears that
the request is closed, once, after the request itself. Never a request for a closed one
left unexplained. Each interleaving is forced, on both databases: the notifier's send is
held in the test's hands, or one transaction is held open while the other is seen
waiting for it (PostgreSQL: for a row's lock; SQLite: for the one write lock)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dispatcher.actions import alarms as actions
from dispatcher.actions import service
from dispatcher.clock import ManualClock
from dispatcher.metrics import Metrics
from dispatcher.notify.channels import Outgoing
from dispatcher.notify.worker import Notifier
from dispatcher.rules.policy import AlarmKind
from dispatcher.store import deliveries
from dispatcher.store.alarms import open_alarm
from dispatcher.store.db import create_engine, is_postgresql, session_factory
from dispatcher.store.models import Notification, Provider
from harness.city import seed_city
from harness.mqtt import wait_for

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
REPAIRS = "+8613866660002"
OWNER = "dispatcher.test"
T = TypeVar("T")
U = TypeVar("U")
Sessions = async_sessionmaker[AsyncSession]


class Writes:
    """SQLite: a statement that writes has started, and so waits there for the one
    write lock while another transaction holds it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.armed = False
        self.seen = False
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.armed and statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            self.seen = True


@dataclass
class Request:
    """A service request of 居民1 sent to 纬北路维修部 by op1: its SMS queued, not claimed."""

    engine: AsyncEngine
    sessions: Sessions
    alarm_id: int
    writes: Writes

    @property
    def postgres(self) -> bool:
        return is_postgresql(self.engine)


@pytest.fixture
async def request_sent(db_url: str) -> AsyncIterator[Request]:
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    try:
        await seed_city(sessions, residents=1)
        async with sessions.begin() as session:
            session.add(
                Provider(
                    id="p-fix",
                    community_id="kangqiao",
                    name="纬北路维修部",
                    category="repairs",
                    phone=REPAIRS,
                )
            )
            alarm = open_alarm(
                kind=AlarmKind.SERVICE,
                type_="service",
                priority=3,
                device_id="T-0001",
                resident_id="r-0001",
                community_id="kangqiao",
                now=NOW,
            )
            session.add(alarm)
            await session.flush()
            alarm_id = alarm.id
        async with sessions.begin() as session:
            await service.dispatch(
                session=session, alarm_id=alarm_id, provider_id="p-fix", by="op1", now=NOW
            )
        yield Request(engine, sessions, alarm_id, Writes(engine))
    finally:
        await engine.dispose()


async def close(r: Request, session: AsyncSession) -> None:
    """The operator closes the request: the resident no longer needs it."""
    await actions.resolve(
        session=session, alarm_id=r.alarm_id, by="op1", outcome="other", note="不需要了", now=NOW
    )


async def close_now(r: Request) -> None:
    async with r.sessions.begin() as session:
        await close(r, session)


async def to_provider(r: Request) -> list[tuple[str, str]]:
    """(purpose, status) of every SMS to the provider, in order."""
    async with r.sessions() as session:
        rows = await session.execute(
            select(Notification.purpose, Notification.status)
            .where(Notification.recipient_key == "provider:p-fix")
            .order_by(Notification.id)
        )
        return [(purpose, status) for purpose, status in rows]


async def claim(r: Request, session: AsyncSession) -> list[str]:
    """The notifier's claim: the recipients of what it took to send."""
    claimed = await deliveries.claim(
        session=session, now=NOW, limit=50, skip_locked=r.postgres, owner=OWNER
    )
    return [row.recipient_key for row in claimed.outgoing]


async def request_id(r: Request) -> int:
    async with r.sessions() as session:
        found = await session.scalar(
            select(Notification.id).where(
                Notification.recipient_key == "provider:p-fix", Notification.purpose == "service"
            )
        )
    assert found is not None
    return found


async def hand_over(r: Request, session: AsyncSession) -> None:
    """The notifier records that the provider's SMS was handed to the SMS provider."""
    handed = [deliveries.Handed(await request_id(r), "SM-repairs")]
    await deliveries.mark_sent(session=session, handed=handed, now=NOW)


async def _waiting_for_a_lock(r: Request) -> bool:
    if not r.postgres:
        return r.writes.seen
    async with r.sessions() as session:
        found = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE "
                "datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(found)


async def while_held(
    r: Request,
    holder: Callable[[AsyncSession], Awaitable[T]],
    waiter: Callable[[AsyncSession], Awaitable[U]],
    *,
    may_pass: bool = False,
) -> tuple[T, U]:
    """`holder` runs in a transaction kept open until `waiter`, in a transaction of its
    own, is seen waiting for it (or, `may_pass`, is done: a claim skips what is locked
    on PostgreSQL); then the holder commits and the waiter goes on."""
    async with r.sessions() as held:
        async with held.begin():
            first = await holder(held)
            await held.flush()
            r.writes.armed = True

            async def run() -> U:
                async with r.sessions.begin() as session:
                    return await waiter(session)

            task = asyncio.create_task(run())
            await wait_for(lambda: (may_pass and task.done()) or _waiting_for_a_lock(r))
            if not may_pass:
                assert not task.done()
        r.writes.armed = False
    return first, await asyncio.wait_for(task, 10)


@dataclass
class Phones:
    """The SMS channel: what it was given, in order; a request to the provider waits
    there, in the middle of its send, until the test lets it go."""

    hold: bool = True
    sent: list[Outgoing] = field(default_factory=list)
    sending: asyncio.Event = field(default_factory=asyncio.Event)
    go: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, message: Outgoing) -> str | None:
        if self.hold and message.purpose == "service":
            self.sending.set()
            await self.go.wait()
        self.sent.append(message)
        return f"SM{message.notification_id:030d}"

    def to_provider(self) -> list[Outgoing]:
        return [m for m in self.sent if m.recipient_key == "provider:p-fix"]


class Terminal:
    async def send(self, message: Outgoing) -> str | None:
        return None


def notifier(r: Request, phones: Phones) -> Notifier:
    return Notifier(
        {"sms": phones, "terminal": Terminal()},
        sessions=r.sessions,
        clock=ManualClock(NOW),
        metrics=Metrics(),
        skip_locked=r.postgres,
        logger=logging.getLogger("test.notify"),
        owner=OWNER,
    )


async def test_closed_while_its_sms_is_being_sent_the_provider_is_told_after_it(
    request_sent: Request,
) -> None:
    r = request_sent
    phones = Phones()
    sender = notifier(r, phones)
    sending = asyncio.create_task(sender.run_once())
    await asyncio.wait_for(phones.sending.wait(), 10)  # claimed, committed, being sent
    assert await to_provider(r) == [("service", "sending")]
    await close_now(r)  # the operator closes it meanwhile: nothing can call the send back
    assert await to_provider(r) == [("service", "sending")]
    phones.go.set()
    await asyncio.wait_for(sending, 10)
    # its handover recorded, the provider is to hear that the request is closed
    assert await to_provider(r) == [("service", "sent"), ("told_closed", "pending")]
    await sender.run_once()
    request, told = phones.to_provider()
    assert request.phrase is not None
    assert request.phrase.key.startswith("sms.service")
    assert told.phrase is not None
    assert told.phrase.key == "sms.service_closed"
    assert told.text == (
        f"【一键通】服务请求（编号{r.alarm_id}）已结束：居民1，其他。无需再上门，谢谢。"
    )
    assert told.link is None  # nothing left to act on
    assert await to_provider(r) == [("service", "sent"), ("told_closed", "sent")]
    await sender.run_once()
    assert len(phones.to_provider()) == 2  # once


async def test_closed_before_its_sms_is_claimed_it_never_goes(request_sent: Request) -> None:
    r = request_sent
    await close_now(r)
    assert await to_provider(r) == [("service", "cancelled")]  # by the close itself
    phones = Phones(hold=False)
    await notifier(r, phones).run_once()
    assert phones.sent == []
    assert await to_provider(r) == [("service", "cancelled")]


async def test_closed_while_it_waits_to_go_by_the_next_route_it_goes_no_more_and_is_explained(
    request_sent: Request,
) -> None:
    """Handed to a first provider that never reported, it waits to go by the next route
    (notify.routed): that first send may have reached the provider."""
    r = request_sent
    async with r.sessions.begin() as session:
        n = await session.get_one(Notification, await request_id(r))
        n.failover, n.attempts, n.sent_at = "aliyun>twilio", 1, NOW
    await close_now(r)
    assert await to_provider(r) == [("service", "cancelled"), ("told_closed", "pending")]


async def test_a_claim_while_the_close_is_under_way_finds_the_request_cancelled(
    request_sent: Request,
) -> None:
    r = request_sent
    _, claimed = await while_held(r, lambda s: close(r, s), lambda s: claim(r, s), may_pass=True)
    assert "provider:p-fix" not in claimed
    assert await to_provider(r) == [("service", "cancelled")]


async def test_a_close_while_the_claim_is_under_way_lets_it_go_and_tells_after_it(
    request_sent: Request,
) -> None:
    r = request_sent
    claimed, _ = await while_held(r, lambda s: claim(r, s), lambda s: close(r, s))
    assert "provider:p-fix" in claimed
    assert await to_provider(r) == [("service", "sending")]  # on its way: not cancelled
    async with r.sessions.begin() as session:
        await hand_over(r, session)
    assert await to_provider(r) == [("service", "sent"), ("told_closed", "pending")]


@pytest.mark.parametrize("first", ["close", "handover"])
async def test_a_close_and_the_handover_at_once_tell_the_provider_once(
    request_sent: Request, first: str
) -> None:
    r = request_sent
    async with r.sessions.begin() as session:
        assert "provider:p-fix" in await claim(r, session)

    async def close_(session: AsyncSession) -> None:
        await close(r, session)

    async def hand_over_(session: AsyncSession) -> None:
        await hand_over(r, session)

    if first == "close":
        await while_held(r, close_, hand_over_)
    else:
        await while_held(r, hand_over_, close_)
    assert await to_provider(r) == [("service", "sent"), ("told_closed", "pending")]
