"""Start-up against services that may not be up yet.

After a power cut the dispatcher often starts before PostgreSQL, or while it is still
recovering ("the database system is starting up"): an outage is waited out, with
backoff, and a log line saying what is waited for. What no retry mends (a bad URL,
refused credentials, a database or file that does not exist, a schema newer than this
code) is a `ConfigurationError`: `dispatcher run` exits at once with `EX_CONFIG`, which
the systemd units in deploy/ do not restart.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import ssl
from collections.abc import Iterator

from alembic.util.exc import CommandError
from sqlalchemy import text
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatcher.config import MqttConfig
from dispatcher.mqtt.connect import broker_address, tls_context
from dispatcher.store.db import is_sqlite, migrate

# sysexits.h: "configuration error"; the systemd units name it in RestartPreventExitStatus
EX_CONFIG = 78
# the longest wait between two tries: the service is back within seconds of its database
RETRY_MAX_S = 5.0
RETRY_MIN_S = 0.5

# PostgreSQL's SQLSTATEs of what waiting does not mend: class 28 (invalid authorization:
# a wrong password, an unknown role), 3D000 (no such database)
_CONFIG_SQLSTATE_CLASSES = ("28",)
_CONFIG_SQLSTATES = frozenset({"3D000"})


class ConfigurationError(Exception):
    """The configuration is wrong: waiting would not help."""


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def configuration_problem(exc: BaseException, *, sqlite: bool) -> str | None:
    """Why `exc` is a configuration error, or None for an outage worth waiting out."""
    for cause in _causes(exc):
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate in _CONFIG_SQLSTATES or sqlstate.startswith(_CONFIG_SQLSTATE_CLASSES)
        ):
            return f"the database refused us: {cause}"
        if isinstance(cause, CommandError):
            return f"the database's schema: {cause}"
        if isinstance(cause, ArgumentError | NoSuchModuleError):
            return f"database.url: {cause}"
        if isinstance(cause, PermissionError | FileNotFoundError | IsADirectoryError):
            return str(cause)
        # SQLite has no server to wait for: a file it cannot open stays unopenable
        if (
            sqlite
            and isinstance(cause, sqlite3.OperationalError)
            and "unable to open" in str(cause)
        ):
            return f"database.url: the SQLite file cannot be opened ({cause})"
    return None


async def wait_for_database(
    engine: AsyncEngine,
    *,
    run_migrations: bool,
    logger: logging.Logger,
    min_s: float = RETRY_MIN_S,
    max_s: float = RETRY_MAX_S,
) -> None:
    """Return once the database answers (and is migrated to head, with
    `run_migrations`); wait out an outage; raise `ConfigurationError` on a bad
    configuration."""
    where = engine.url.render_as_string(hide_password=True)
    sqlite = is_sqlite(engine)
    delay = min_s
    tries = 0
    while True:
        tries += 1
        try:
            if run_migrations:
                await migrate(engine)
            else:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception as exc:
            problem = configuration_problem(exc, sqlite=sqlite)
            if problem is not None:
                raise ConfigurationError(problem) from exc
            # jitter: a fleet of dispatchers does not knock in lockstep
            wait = delay * random.uniform(0.8, 1.2)
            logger.warning(
                "waiting for the database at %s (%s: %s); next try in %.1f s",
                where,
                type(exc).__name__,
                str(exc).strip().splitlines()[0] if str(exc).strip() else "",
                wait,
            )
            await asyncio.sleep(wait)
            delay = min(delay * 2, max_s)
            continue
        if tries > 1:
            logger.info("the database at %s answers after %d tries", where, tries)
        return


def autovacuum_warning(setting: str) -> str | None:
    """What to tell an administrator whose PostgreSQL runs with `autovacuum` (the
    server's setting) off; None when it is on."""
    if setting.strip().lower() in ("on", "true", "yes", "1"):
        return None
    return (
        "PostgreSQL runs with autovacuum off: the planner's statistics of the event "
        "log, the alarms and the outbox go stale as they grow, and lookups slow down; "
        "set autovacuum = on in postgresql.conf"
    )


async def warn_of_database_settings(engine: AsyncEngine, *, logger: logging.Logger) -> None:
    """Settings of the database server that a city should not run with, each a warning
    at start (the service runs anyway)."""
    if is_sqlite(engine):
        return
    try:
        async with engine.connect() as conn:
            setting = await conn.scalar(text("SHOW autovacuum"))
    except (OSError, DBAPIError) as exc:  # gone again since it answered: start anyway
        logger.warning("could not read the database server's settings (%s)", exc)
        return
    warning = autovacuum_warning(str(setting))
    if warning is not None:
        logger.warning("%s", warning)


def check_broker_settings(mqtt: MqttConfig) -> None:
    """What the broker sessions will need, checked before they retry forever: the URL's
    form and, for mqtts://, the CA file."""
    try:
        broker_address(mqtt)
        tls_context(mqtt)
    except (ValueError, OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"mqtt: {exc}") from exc
