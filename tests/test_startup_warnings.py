"""Settings of the database server a city should not run with are said at start."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from dispatcher.startup import autovacuum_warning, warn_of_database_settings
from dispatcher.store.db import create_engine, is_sqlite
from harness.ports import free_port

LOG = logging.getLogger("test.start")


@pytest.mark.parametrize("setting", ["on", "ON", "true", "1"])
def test_autovacuum_on_is_not_mentioned(setting: str) -> None:
    assert autovacuum_warning(setting) is None


@pytest.mark.parametrize("setting", ["off", "false", "0"])
def test_autovacuum_off_is_said_with_its_remedy(setting: str) -> None:
    warning = autovacuum_warning(setting)
    assert warning is not None
    assert "autovacuum = on" in warning


async def test_the_server_setting_is_read_at_start(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """This machine's PostgreSQL may run either way: the warning follows what it says."""
    engine = create_engine(db_url)
    try:
        with caplog.at_level(logging.WARNING, logger=LOG.name):
            await warn_of_database_settings(engine, logger=LOG)
        if is_sqlite(db_url):
            expected = None
        else:
            async with engine.connect() as conn:
                expected = autovacuum_warning(str(await conn.scalar(text("SHOW autovacuum"))))
    finally:
        await engine.dispose()
    said = [r.getMessage() for r in caplog.records if r.name == LOG.name]
    assert said == ([] if expected is None else [expected])


async def test_a_database_gone_again_does_not_stop_the_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """It answered a moment ago (wait_for_database); now it does not: a line, no raise."""
    engine = create_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/gone")
    try:
        with caplog.at_level(logging.WARNING, logger=LOG.name):
            await warn_of_database_settings(engine, logger=LOG)
    finally:
        await engine.dispose()
    said = [r.getMessage() for r in caplog.records if r.name == LOG.name]
    assert len(said) == 1
    assert said[0].startswith("could not read the database server's settings")
