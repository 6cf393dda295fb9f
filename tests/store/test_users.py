"""Passwords are hashed and checked in a worker thread: argon2 takes tens of
milliseconds of CPU each time, which on the event loop would hold up the presses it
ingests. (A spy records where the hasher runs; the database is the real one.)"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.users import accounts as users

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


class WhereItRuns(PasswordHasher):
    def __init__(self) -> None:
        super().__init__()
        self.threads: list[threading.Thread] = []

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.threads.append(threading.current_thread())
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002
        self.threads.append(threading.current_thread())
        return super().verify(hash, password)


async def test_hashing_and_checking_run_off_the_event_loop(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = WhereItRuns()
    monkeypatch.setattr(users, "_HASHER", hasher)
    loop_thread = threading.current_thread()
    async with sessions.begin() as session:
        await users.add_or_update_user(
            session=session, username="op1", role=users.Role.OPERATOR, password="p" * 8, now=NOW
        )
    for username, password, works in (
        ("op1", "p" * 8, True),
        ("op1", "wrong", False),
        ("nobody", "p" * 8, False),
    ):
        async with sessions.begin() as session:
            token = await users.login(
                session=session, username=username, password=password, now=NOW, ttl_s=60
            )
        assert (token is not None) is works
    assert len(hasher.threads) == 4
    assert loop_thread not in hasher.threads
