"""Terminals' MQTT accounts (docs/protocol.md): for each terminal, the generation of its
password and the hash the broker checks. An account outlives its terminal's removal (a
terminal loaded again gets its password back, never an older rotated one), but only a
known terminal can log in."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.store.models import Terminal, TerminalAccount

# ids per IN (...) list: well under the bound parameter limits of SQLite and asyncpg
_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class Account:
    device_id: str
    generation: int
    password_hash: str


def _chunks(ids: Collection[str]) -> Iterator[list[str]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


async def terminal_ids(*, session: AsyncSession, among: Collection[str] | None = None) -> list[str]:
    """The known terminals, sorted; only those of `among` when given."""
    if among is None:
        return list(await session.scalars(select(Terminal.device_id).order_by(Terminal.device_id)))
    found: list[str] = []
    for chunk in _chunks(among):
        found += await session.scalars(
            select(Terminal.device_id).where(Terminal.device_id.in_(chunk))
        )
    return sorted(found)


async def accounts(
    *, session: AsyncSession, device_ids: Collection[str] | None = None
) -> dict[str, Account]:
    """The accounts (of `device_ids` when given), by device_id."""
    query = select(TerminalAccount)
    if device_ids is None:
        rows = list(await session.scalars(query))
    else:
        rows = []
        for chunk in _chunks(device_ids):
            rows += await session.scalars(query.where(TerminalAccount.device_id.in_(chunk)))
    return {
        row.device_id: Account(row.device_id, row.generation, row.password_hash) for row in rows
    }


async def password_hash(*, session: AsyncSession, device_id: str) -> str | None:
    """The hash to check a terminal's login against; None when it has no account."""
    hashed: str | None = await session.scalar(
        select(TerminalAccount.password_hash)
        .join(Terminal, Terminal.device_id == TerminalAccount.device_id)
        .where(TerminalAccount.device_id == device_id)
    )
    return hashed


async def save(*, session: AsyncSession, accounts: Collection[Account], now: datetime) -> None:
    """Create or replace these accounts."""
    existing: dict[str, TerminalAccount] = {}
    for chunk in _chunks([a.device_id for a in accounts]):
        rows = await session.scalars(
            select(TerminalAccount).where(TerminalAccount.device_id.in_(chunk))
        )
        existing.update((row.device_id, row) for row in rows)
    for account in accounts:
        row = existing.get(account.device_id)
        if row is None:
            session.add(
                TerminalAccount(
                    device_id=account.device_id,
                    generation=account.generation,
                    password_hash=account.password_hash,
                    updated_at=now,
                )
            )
        else:
            row.generation = account.generation
            row.password_hash = account.password_hash
            row.updated_at = now
