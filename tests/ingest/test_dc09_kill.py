"""A DC-09 SOS received but not committed when the dispatcher is killed (kill -9) is not
lost: it was not answered, so the terminal sends it again, as DC-09 terminals do, and
the dispatcher that comes back stores it once and answers ACK."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml
from sqlalchemy import func, select, update

from devices import dc09
from dispatcher.store.db import create_engine, session_factory
from dispatcher.store.models import Alarm, EventLog, Terminal
from harness.city import seed_city
from harness.mqtt import wait_for
from simulators.dc09 import Dc09Terminal
from tests.ingest.test_puback_after_commit import _dsn, _Process

KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")


def config_of(pg_url: str, tmp_path: Path) -> dict[str, Any]:
    """Every port 0, taken by the process itself (DC-09's read from its log)."""
    return {
        "database": {"url": pg_url},
        "mqtt": {
            "url": "mqtt://127.0.0.1:1883",
            "topic_prefix": f"t{uuid.uuid4().hex[:8]}",
            "client_id": f"dispatcher.{uuid.uuid4().hex[:8]}",
            "credentials_key_file": str(tmp_path / "mqtt-credentials.key"),
        },
        # any free port, taken by the process itself: a port found free beforehand can
        # be taken by another process's connection before the dispatcher binds it
        "http": {"host": "127.0.0.1", "port": 0},
        "heartbeat": {"offline_alarms": False},
        "dc09": {"host": "127.0.0.1", "port": 0},
    }


@pytest.fixture
def dc09_process(pg_url: str, tmp_path: Path) -> Iterator[tuple[_Process, Path, dict[str, Any]]]:
    config = tmp_path / "config.yaml"
    settings = config_of(pg_url, tmp_path)
    config.write_text(yaml.safe_dump(settings))
    process = _Process(config, tmp_path / "dispatcher.log")
    try:
        yield process, config, settings
    finally:
        process.kill()


def receiver_port(process: _Process) -> int | None:
    """The DC-09 receiver's port from the log; fails at once if the process ended."""
    text = process.log.read_text(errors="replace")
    found = re.findall(r"DC-09 receiver on 127\.0\.0\.1:(\d+)", text)
    if found:
        return int(found[-1])
    if process.proc is not None and process.proc.poll() is not None:
        pytest.fail(f"the dispatcher exited ({process.proc.returncode}):\n{text[-3000:]}")
    return None


async def test_a_dc09_sos_killed_before_its_commit_is_repeated_and_stored_once(
    pg_url: str, dc09_process: tuple[_Process, Path, dict[str, Any]]
) -> None:
    process, config, settings = dc09_process
    engine = create_engine(pg_url)
    try:
        sessions = session_factory(engine)
        city = await seed_city(sessions)
        device = city.terminals[0]
        async with sessions.begin() as session:
            await session.execute(
                update(Terminal)
                .where(Terminal.device_id == device)
                .values(protocol="dc09", dc09_account="1A2B", dc09_key=KEY.hex())
            )
        process.start()
        port = await wait_for(lambda: receiver_port(process), within=60)
        # the restart listens where the terminal sends: the port the first start took
        settings["dc09"]["port"] = port
        config.write_text(yaml.safe_dump(settings))

        blocker = await asyncpg.connect(_dsn(pg_url))
        watcher = await asyncpg.connect(_dsn(pg_url))
        try:
            transaction = blocker.transaction()
            await transaction.start()
            await blocker.execute("LOCK TABLE event_log IN EXCLUSIVE MODE")
            blocker_pid = blocker.get_server_pid()

            async def batch_waiting() -> bool:
                waiting = await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND pid <> $1",
                    blocker_pid,
                )
                return bool(waiting)

            async with Dc09Terminal("1A2B", KEY, "127.0.0.1", port, retry_s=1.0, attempts=90) as t:
                sending = asyncio.create_task(t.sos("100"))
                await wait_for(batch_waiting, within=30)
                process.kill()  # received, not committed, not answered
                await transaction.rollback()
                process.start()
                sent = await asyncio.wait_for(sending, 120)
        finally:
            await blocker.close()
            await watcher.close()
        assert sent.answer is dc09.Answer.ACK
        assert sent.attempts > 1  # the first was never answered

        async with sessions() as session:
            logged = await session.scalar(
                select(func.count())
                .select_from(EventLog)
                .where(EventLog.device_id == device, EventLog.kind == "device_event")
            )
            alarms = await session.scalar(
                select(func.count()).select_from(Alarm).where(Alarm.device_id == device)
            )
        assert (logged, alarms) == (1, 1)
    finally:
        await engine.dispose()
