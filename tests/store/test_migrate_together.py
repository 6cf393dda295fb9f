"""Processes started together (the systemd units of a city, after a power cut) each
migrate at start: on a fresh PostgreSQL database they take turns, and all start."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from dispatcher.store.db import create_engine, migrate
from harness import databases

pytestmark = pytest.mark.postgres


@pytest.fixture
def empty_pg(run_id: str) -> Iterator[str]:
    name = f"t_{run_id}_{uuid.uuid4().hex[:8]}"
    asyncio.run(databases._admin(f'CREATE DATABASE "{name}"'))
    yield databases.pg_url(name)
    databases.drop_pg_database(name)


async def test_four_processes_migrate_a_fresh_database_at_once(empty_pg: str) -> None:
    engines = [create_engine(empty_pg) for _ in range(4)]
    try:
        # without turns they wait on each other's locks for good
        async with asyncio.timeout(60):
            await asyncio.gather(*(migrate(engine) for engine in engines))
        async with engines[0].connect() as conn:
            versions = (await conn.execute(text("SELECT count(*) FROM alembic_version"))).scalar()
        assert versions == 1
    finally:
        for engine in engines:
            await engine.dispose()
