"""Sessions on a fresh, migrated database of each kind (the `db_url` of tests/conftest.py:
a SQLite file and a PostgreSQL database of its own, dropped afterwards)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.store.db import create_engine, migrate, session_factory


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(db_url)
    try:
        await migrate(engine)  # at head already; proves the migrations are the schema
        yield session_factory(engine)
    finally:
        await engine.dispose()
