"""`dispatcher backup PATH`: an online, consistent copy of the SQLite database while the
service runs (SQLite's backup API: one read transaction, so the copy is the database as
of one commit; in WAL mode the service keeps writing meanwhile). On PostgreSQL the
standard tools do it (`pg_dump`, README "Backups and restore")."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from dispatcher.config import Settings
from dispatcher.store.db import is_sqlite, private_file

# a writer holding the lock is waited for this long, as the service's connections do
_BUSY_TIMEOUT_S = 30


def _copy_pages(source: Path, partial: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(source, timeout=_BUSY_TIMEOUT_S)) as src,
        contextlib.closing(sqlite3.connect(partial)) as dst,
    ):
        src.backup(dst)  # all pages in one step: one snapshot
        # the copy is the restore: it opens alone, without a -wal beside it
        dst.execute("PRAGMA journal_mode=DELETE")
        (check,) = dst.execute("PRAGMA quick_check").fetchone()
    if check != "ok":
        raise sqlite3.DatabaseError(f"the copy does not check: {check}")


def copy_sqlite(source: Path, target: Path) -> int:
    """Copy `source` to `target` (replaced only once the copy is whole and checked, and
    private: 0600); the copy's size in bytes."""
    partial = target.with_name(f".{target.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    private_file(partial)
    try:
        _copy_pages(source, partial)
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    return target.stat().st_size


def backup(settings: Settings, target: Path) -> int:
    url = settings.database.url
    if not is_sqlite(url):
        print(
            "dispatcher: on PostgreSQL back up with pg_dump, while the service runs: "
            "pg_dump --format=custom --file=dispatch.dump DATABASE (README: Backups and "
            "restore)",
            file=sys.stderr,
        )
        return 2
    database = make_url(url).database
    if not database or database == ":memory:" or not Path(database).is_file():
        print(f"dispatcher: no SQLite database file at {database!r}", file=sys.stderr)
        return 1
    source = Path(database)
    if target.resolve() == source.resolve():
        print("dispatcher: the backup must go to another file", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        size = copy_sqlite(source, target)
    except (OSError, sqlite3.Error) as exc:
        print(f"dispatcher: backup failed, nothing written to {target}: {exc}", file=sys.stderr)
        return 1
    took = time.monotonic() - started
    print(f"backed up {source} to {target}: {size} bytes, consistent, in {took:.1f} s")
    return 0
