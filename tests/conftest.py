"""Fixtures on the real services: each run gets its own databases and topic prefix."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.config import Settings
from dispatcher.store.db import create_engine, migrate, session_factory
from harness import databases

MOSQUITTO_URL = "mqtt://127.0.0.1:1883"


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def pg_template(run_id: str) -> Iterator[str]:
    """A PostgreSQL database migrated once; each test copies it (CREATE ... TEMPLATE)."""
    name = databases.create_pg_template(f"t_{run_id}_tmpl")
    yield name
    databases.drop_pg_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    databases.create_sqlite_template(path)
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    run_id: str,
) -> Iterator[str]:
    """A fresh, migrated database of each kind for the test."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "dispatcher.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("pg_template")
    name = f"t_{run_id}_{uuid.uuid4().hex[:8]}"
    databases.create_pg_database(name, template=template_name)
    yield databases.pg_url(name)
    databases.drop_pg_database(name)


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on `db_url` (for tests of the store and the city loader)."""
    engine = create_engine(db_url)
    try:
        await migrate(engine)  # at head already; proves the migrations are the schema
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def pg_url(run_id: str, pg_template: str) -> Iterator[str]:
    name = f"t_{run_id}_{uuid.uuid4().hex[:8]}"
    databases.create_pg_database(name, template=pg_template)
    yield databases.pg_url(name)
    databases.drop_pg_database(name)


@pytest.fixture
def topic_prefix(run_id: str) -> str:
    return f"test-{run_id}-{uuid.uuid4().hex[:6]}/eldercare"


@pytest.fixture
def settings_for(topic_prefix: str, tmp_path: Path) -> Callable[..., Settings]:
    """Settings on the given database, the machine's Mosquitto and this test's prefix."""

    def make(db_url: str, **overrides: object) -> Settings:
        data: dict[str, object] = {
            "database": {"url": db_url},
            "mqtt": {
                "url": MOSQUITTO_URL,
                "topic_prefix": topic_prefix,
                # a '.' no device id has: no terminal account can claim it (config.py)
                "client_id": f"dispatcher.{uuid.uuid4().hex[:8]}",
                "credentials_key_file": str(tmp_path / "mqtt-credentials.key"),
            },
            "http": {"host": "127.0.0.1", "port": 0},
            # the tests scrape /metrics from this machine (tests/web/test_metrics_access.py
            # has the default: nobody)
            "metrics": {"allow": ["127.0.0.1/32", "::1/128"]},
            "heartbeat": {"flush_interval_s": 0.2},
        }
        for key, value in overrides.items():
            section = data.setdefault(key, {})
            if isinstance(section, dict) and isinstance(value, dict):
                section.update(value)
            else:
                data[key] = value
        return Settings.model_validate(data)

    return make
