"""SQLite as the embedded default runs it: an ack promises the press is kept."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from dispatcher.store.db import create_engine

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


async def test_every_commit_is_synced_to_disk(tmp_path: Path) -> None:
    """WAL with synchronous=NORMAL syncs only at checkpoints: a power cut could take
    commits whose presses were already acknowledged."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'dispatcher.db'}")
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("PRAGMA synchronous")) == FULL
            assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
    finally:
        await engine.dispose()
