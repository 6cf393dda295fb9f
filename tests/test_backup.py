"""Backups and restore (issue 17 §5, README): a backup taken while presses arrive, as
the README says (`dispatcher backup PATH` on SQLite, `pg_dump` on PostgreSQL), restored
into a new database, holds every press acked before the backup began."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import stat
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from dispatcher.config import Settings
from dispatcher.store.db import create_engine, is_sqlite, migrate, session_factory
from dispatcher.store.models import EventLog
from harness import databases
from harness.city import seed_city
from harness.mqtt import event, raw_peer, wait_for
from harness.service import running

MOSQUITTO = ("127.0.0.1", 1883)
ROOT = Path(__file__).resolve().parents[1]


async def _run(*args: str, env: dict[str, str] | None = None) -> str:
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _backup(db_url: str, target: Path) -> None:
    """The README's commands, while the service runs."""
    if is_sqlite(db_url):
        said = await _run(
            sys.executable,
            "-m",
            "dispatcher.cli",
            "backup",
            str(target),
            env={"DISPATCHER_DATABASE__URL": db_url},
        )
        assert "consistent" in said
        mode = (await asyncio.to_thread(target.stat)).st_mode
        assert stat.S_IMODE(mode) == 0o600
    else:
        await _run("pg_dump", "--format=custom", f"--file={target}", _libpq(db_url))


async def _restore(db_url: str, backup: Path, tmp_path: Path) -> str:
    """Into a new database; its URL."""
    if is_sqlite(db_url):
        restored = tmp_path / "restored.db"
        shutil.copyfile(backup, restored)
        return f"sqlite+aiosqlite:///{restored}"
    name = f"restored_{uuid.uuid4().hex[:8]}"
    await _run("createdb", "-h", "127.0.0.1", "-U", "postgres", name)
    url = databases.pg_url(name)
    await _run("pg_restore", "--no-owner", f"--dbname={_libpq(url)}", str(backup))
    return url


async def test_a_backup_taken_while_presses_arrive_holds_every_press_acked_before(
    db_url: str, settings_for: Callable[..., Settings], topic_prefix: str, tmp_path: Path
) -> None:
    acked: list[str] = []
    stop = asyncio.Event()
    restored_url = ""
    async with running(settings_for(db_url)) as service:
        city = await seed_city(service.sessions)
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:

            async def press(device: str) -> None:
                n = 0
                while not stop.is_set():
                    event_id = f"{device}-{n}"
                    n += 1
                    await peer.publish(device, "event", event(event_id, "checkin"))
                    while (await peer.next_ack(within=15))[1]["event_id"] != event_id:
                        pass
                    acked.append(event_id)

            pressing = [asyncio.create_task(press(d)) for d in city.terminals[:1]]
            try:
                await wait_for(lambda: len(acked) >= 20, within=60)
                before = list(acked)
                backup = tmp_path / "dispatch.backup"
                await _backup(db_url, backup)
                during = len(acked) - len(before)
                # and the service goes on
                await wait_for(lambda: len(acked) >= len(before) + during + 10, within=60)
            finally:
                stop.set()
                await asyncio.gather(*pressing, return_exceptions=True)
    restored_url = await _restore(db_url, backup, tmp_path)
    engine = create_engine(restored_url)
    try:
        await migrate(engine)  # at head already: a restored database starts as it is
        async with session_factory(engine)() as session:
            kept = set(await session.scalars(select(EventLog.event_id)))
    finally:
        await engine.dispose()
        if not is_sqlite(restored_url):
            name = make_url(restored_url).database
            await databases._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    missing = [e for e in before if e not in kept]
    assert missing == []
    print(f"\nbackup: {len(before)} presses acked before it, {during} during it, all kept")


def test_backup_refuses_postgresql_and_names_pg_dump(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dispatcher import cli  # noqa: PLC0415

    monkeypatch.setenv("DISPATCHER_DATABASE__URL", databases.pg_url("never_opened"))
    assert cli.main(["backup", str(tmp_path / "x")]) == 2
    assert "pg_dump" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_the_copy_is_whole_without_its_wal(tmp_path: Path) -> None:
    from dispatcher.backup_command import copy_sqlite  # noqa: PLC0415

    source = tmp_path / "live.db"
    with sqlite3.connect(source) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
        db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(1000)])
        db.commit()
        # still open, the rows in the WAL only: the copy has them all the same
        copy_sqlite(source, tmp_path / "copy.db")
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("SELECT count(*) FROM t").fetchone() == (1000,)
    assert not (tmp_path / "copy.db-wal").exists()
