"""Test databases on the machine's PostgreSQL and in SQLite files, migrated to head."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from dispatcher.store.db import create_engine, migrate

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def pg_url(name: str) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


def create_pg_template(name: str) -> str:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    asyncio.run(_migrate(pg_url(name)))
    return name


def create_pg_database(name: str, *, template: str) -> None:
    asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))


def drop_pg_database(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def create_sqlite_template(path: Path) -> None:
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
