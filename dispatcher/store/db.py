"""Engine, sessions and migrations for SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import column, event, false, table, text, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
# pg_advisory_xact_lock's key for migrations: any constant no other lock of ours uses
_MIGRATE_LOCK = 20_261_207_17


def dialect_name(target: AsyncEngine | AsyncSession | str) -> str:
    """`postgresql` or `sqlite`: the one place that asks which database this is, of an
    engine, a session (its engine) or a database URL."""
    if isinstance(target, str):
        return make_url(target).get_backend_name()
    if isinstance(target, AsyncSession):
        bind = target.bind
        if not isinstance(bind, AsyncEngine):
            raise TypeError("a session bound to one engine is expected")
        target = bind
    return target.dialect.name


def is_sqlite(target: AsyncEngine | AsyncSession | str) -> bool:
    """SQLite: one process, one writer, no row locks (SKIP LOCKED is silently dropped)."""
    return dialect_name(target) == "sqlite"


def is_postgresql(target: AsyncEngine | AsyncSession | str) -> bool:
    return dialect_name(target) == "postgresql"


async def take_write_lock(session: AsyncSession) -> None:
    """SQLite: start the write transaction now, so that what the session reads next
    stays true until it commits (SQLite has no row locks; its one writer is the lock).
    A no-op UPDATE takes the database's write lock; a writer that holds it is waited
    for (the busy timeout of `create_engine`). PostgreSQL: nothing, lock rows instead."""
    if is_sqlite(session):
        alarms = table("alarms", column("id"))
        await session.execute(update(alarms).where(false()).values(id=alarms.c.id))


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite(url):
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            private_file(Path(database))
        # SQLite means one writer: wait for the lock instead of failing at once
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_size"] = 10
        # plan every statement for the tables as they are now: a pooled connection keeps
        # the statements it prepared all day, and PostgreSQL may keep one generic plan for
        # each (and for the foreign-key checks of every INSERT) costed with the sizes of
        # its fifth run, until the next ANALYZE. A new city's outbox planned empty was read
        # by sequential scans through its first burst (tests/store/test_plan_cache.py)
        kwargs["connect_args"] = {"server_settings": {"plan_cache_mode": "force_custom_plan"}}
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine.sync_engine, "checkout", _closed_is_gone)
    return engine


def _closed_is_gone(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server closed (a restart, an administrator) is replaced
    before use: the pool connects it again (SQLAlchemy's pessimistic disconnect handling).
    asyncpg notices the close when it comes, so this costs no round trip, where
    `pool_pre_ping` cost three at every checkout (BEGIN, a ping, ROLLBACK: 5% of a
    burst's time; bench/README.md)."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the database closed this connection")


def private_file(path: Path) -> None:
    """Create `path` readable by its owner alone (0600), or take the others' access
    away from an existing one: medical notes, phones and password hashes. SQLite gives
    its -wal and -shm files the mode of the database file."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            os.fchmod(fd, mode & 0o700)
    finally:
        os.close(fd)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the dashboard read while ingest writes. FULL syncs the WAL at every
    # commit: an ack promises the press is kept, and NORMAL can lose the last commits
    # in a power cut (it syncs only at checkpoints)
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def migrate(engine: AsyncEngine) -> None:
    """Upgrade the database to head, on the engine's own connection."""

    def _upgrade(connection: Connection) -> None:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        if is_postgresql(engine):
            # processes started together (the systemd units of a city) migrate one at a
            # time: the others wait here, then find the schema at head
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATE_LOCK})
        await conn.run_sync(_upgrade)
