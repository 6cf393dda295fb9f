"""Running the whole service in a test, and reading back what it did."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import func, select

from dispatcher.app import Service
from dispatcher.clock import Clock, SystemClock
from dispatcher.config import Settings
from dispatcher.rules import scopes
from dispatcher.store.models import Alarm, EventLog, Notification, User
from dispatcher.users import accounts as users
from harness.mqtt import wait_for


@dataclass(frozen=True, order=True)
class Sent:
    """One outbox row as a story would tell it."""

    round: int
    step: int
    recipient: str
    channel: str


@contextlib.asynccontextmanager
async def running(
    settings: Settings, *, clock: Clock | None = None, http: bool = False
) -> AsyncIterator[Service]:
    service = Service(settings, clock=clock or SystemClock(), serve_http=http)
    async with service:
        await wait_for(lambda: service.broker_connected)
        yield service


async def outbox(service: Service, *, purpose: str | None = None) -> list[Sent]:
    """What the engine and the people's actions queued, in order. Summaries of throttled
    messages are the notifier's own and come whenever a window allows: left out unless
    asked for by `purpose`."""
    async with service.sessions() as session:
        query = select(Notification).order_by(Notification.id)
        if purpose is not None:
            query = query.where(Notification.purpose == purpose)
        else:
            query = query.where(Notification.purpose != "summary")
        rows = await session.scalars(query)
        return [Sent(n.round, n.step, n.recipient_key, n.channel) for n in rows]


async def count(service: Service, model: Any, *where: Any) -> int:
    async with service.sessions() as session:
        found = await session.scalar(select(func.count()).select_from(model).where(*where))
        return int(found or 0)


async def timeline_kinds(service: Service, alarm_id: int) -> list[str]:
    async with service.sessions() as session:
        rows = await session.scalars(
            select(EventLog.kind).where(EventLog.alarm_id == alarm_id).order_by(EventLog.id)
        )
        return list(rows)


async def first_step_fired(service: Service, alarm_id: int) -> bool:
    """Whether the engine has taken up the alarm (its step 0 fired). Wait for it before
    moving a test's clock: the next step's wait counts from the firing, so a clock moved
    before it only moves that step later."""
    async with service.sessions() as session:
        return bool(
            await session.scalar(select(Alarm.escalation_started).where(Alarm.id == alarm_id))
        )


async def only_alarm(service: Service) -> Alarm:
    async with service.sessions() as session:
        alarms = list(await session.scalars(select(Alarm)))
    assert len(alarms) == 1, alarms
    return alarms[0]


async def add_user(
    service: Service,
    name: str,
    role: users.Role,
    *,
    phone: str | None = None,
    scope: str | None = None,
) -> None:
    """A user with the password `api_client` logs in with; `scope` as `--scope` takes it."""
    async with service.sessions.begin() as session:
        await users.add_or_update_user(
            session=session,
            username=name,
            role=role,
            password="password-123",
            now=service.clock.now(),
            scope=None if scope is None else scopes.parse(scope),
        )
    if phone is not None:
        async with service.sessions.begin() as session:
            user = await session.scalar(select(User).where(User.username == name))
            assert user is not None
            user.phone = phone


@contextlib.asynccontextmanager
async def api_client(service: Service, username: str) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client logged in as `username` (password of `add_user`)."""
    base = f"http://127.0.0.1:{service.http_port}"
    async with aiohttp.ClientSession(base) as client:
        async with client.post(
            "/api/login", json={"username": username, "password": "password-123"}
        ) as response:
            assert response.status == 200, await response.text()
            token = (await response.json())["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client
