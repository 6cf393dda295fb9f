"""The migrations, run in order on a fresh database of each kind, make exactly the
schema the models describe (revisions written on several branches, linked into one
line, must not drift from the models)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from dispatcher.store.db import create_engine
from dispatcher.store.models import Base


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_is_the_models(db_url: str) -> None:
    engine = create_engine(db_url)  # a copy of the template, migrated to head
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()
