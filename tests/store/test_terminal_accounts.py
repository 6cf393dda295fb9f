"""Terminal accounts on SQLite and PostgreSQL: a password made on first use and printed
again, rotated on demand, kept only as Mosquitto's hash (docs/protocol.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.broker_accounts import store as terminal_accounts
from dispatcher.broker_accounts.commands import AccountsError, broker_passwords, credentials
from dispatcher.broker_accounts.passwords import verify
from dispatcher.config import MqttConfig
from dispatcher.store.models import Terminal, TerminalAccount

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


async def _terminals(sessions: Sessions, *ids: str) -> None:
    async with sessions.begin() as session:
        session.add_all(Terminal(device_id=i, connected=False) for i in ids)


async def _credentials(
    sessions: Sessions, *ids: str, rotate: bool = False, key: bytes = KEY
) -> dict[str, str]:
    async with sessions.begin() as session:
        printed = await credentials(
            session=session, key=key, device_ids=ids, rotate=rotate, now=NOW
        )
    return dict(printed)


async def _stored(sessions: Sessions) -> dict[str, terminal_accounts.Account]:
    async with sessions() as session:
        return await terminal_accounts.accounts(session=session)


async def test_made_on_first_use_printed_again_and_rotated(sessions: Sessions) -> None:
    await _terminals(sessions, "T-1", "T-2")
    first = await _credentials(sessions, "T-1", "T-2")
    assert first["T-1"] != first["T-2"]
    assert len(first["T-1"]) == 24
    assert await _credentials(sessions, "T-1") == {"T-1": first["T-1"]}
    stored = await _stored(sessions)
    assert stored["T-1"].generation == 1
    # only the hash is kept, in the format Mosquitto reads
    assert first["T-1"] not in stored["T-1"].password_hash
    assert stored["T-1"].password_hash.startswith("$7$101$")
    assert verify(first["T-1"], stored["T-1"].password_hash)

    rotated = await _credentials(sessions, "T-1", rotate=True)
    assert rotated["T-1"] != first["T-1"]
    assert await _credentials(sessions, "T-1") == rotated
    after = await _stored(sessions)
    assert after["T-1"].generation == 2
    assert not verify(first["T-1"], after["T-1"].password_hash)
    assert after["T-2"] == stored["T-2"]  # the other one untouched


async def test_unknown_terminals_and_a_changed_key_are_refused(sessions: Sessions) -> None:
    await _terminals(sessions, "T-1")
    with pytest.raises(AccountsError, match="unknown terminal T-9"):
        await _credentials(sessions, "T-1", "T-9")
    assert await _stored(sessions) == {}  # nothing of the refused call was written
    await _credentials(sessions, "T-1")
    with pytest.raises(AccountsError, match="not made with this key"):
        await _credentials(sessions, "T-1", key=OTHER_KEY)
    fresh = await _credentials(sessions, "T-1", key=OTHER_KEY, rotate=True)
    assert await _credentials(sessions, "T-1", key=OTHER_KEY) == fresh


async def test_a_removed_terminal_cannot_log_in_and_comes_back_with_its_password(
    sessions: Sessions,
) -> None:
    await _terminals(sessions, "T-1")
    await _credentials(sessions, "T-1")
    rotated = await _credentials(sessions, "T-1", rotate=True)
    async with sessions.begin() as session:
        await session.execute(delete(Terminal).where(Terminal.device_id == "T-1"))
    async with sessions() as session:
        assert await terminal_accounts.password_hash(session=session, device_id="T-1") is None
    await _terminals(sessions, "T-1")
    # its account was kept: not back to an older, rotated-away password
    assert await _credentials(sessions, "T-1") == rotated


async def test_broker_passwords_cover_every_terminal_and_the_dispatcher(
    sessions: Sessions,
) -> None:
    await _terminals(sessions, "T-1", "T-2", "T-3")
    issued = await _credentials(sessions, "T-2")
    mqtt = MqttConfig(username="dispatcher", password="dispatcher-secret")
    async with sessions.begin() as session:
        entries = await broker_passwords(session=session, key=KEY, mqtt=mqtt, now=NOW)
    assert [user for user, _ in entries] == ["dispatcher", "T-1", "T-2", "T-3"]
    hashes = dict(entries)
    assert verify("dispatcher-secret", hashes["dispatcher"])
    assert hashes["dispatcher"].startswith("$7$20000$")
    assert verify(issued["T-2"], hashes["T-2"])
    # those without an account got one, whose password `credentials` prints
    later = await _credentials(sessions, "T-1", "T-3")
    assert verify(later["T-1"], hashes["T-1"])
    assert verify(later["T-3"], hashes["T-3"])
    async with sessions() as session:
        count = len(list(await session.scalars(select(TerminalAccount))))
    assert count == 3


async def test_broker_passwords_refuse_what_mosquitto_could_not_tell_apart(
    sessions: Sessions,
) -> None:
    await _terminals(sessions, "dispatcher")
    async with sessions.begin() as session:
        with pytest.raises(AccountsError, match=r"mqtt\.password is not set"):
            await broker_passwords(session=session, key=KEY, mqtt=MqttConfig(), now=NOW)
        with pytest.raises(AccountsError, match="has the dispatcher's username"):
            await broker_passwords(
                session=session, key=KEY, mqtt=MqttConfig(password="secret-1"), now=NOW
            )
