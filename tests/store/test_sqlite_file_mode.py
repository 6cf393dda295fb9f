"""The SQLite database holds medical notes, phones and password hashes: its files are
its owner's alone (0600), whatever the umask, and an older world-readable one is
tightened at the next start (issue 17 §4)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from dispatcher.store.db import create_engine, migrate


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual 022, under which a plain create is world-readable (0644)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("open_umask")
async def test_a_new_database_and_its_wal_are_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "dispatcher.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate(engine)
        async with engine.connect() as conn:  # the WAL and its index exist while open
            await conn.execute(text("SELECT count(*) FROM alarms"))
            files = [path, path.with_name("dispatcher.db-wal"), path.with_name("dispatcher.db-shm")]
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        await engine.dispose()


@pytest.mark.usefixtures("open_umask")
async def test_a_world_readable_database_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    assert _mode(path) == 0o644
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await engine.dispose()
    assert _mode(path) == 0o600
