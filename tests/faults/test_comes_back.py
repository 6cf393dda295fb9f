"""It comes back by itself (issue 17 §1): `dispatcher run` started while its database
and its broker are both down stays up, says on /healthz what is missing, and is healthy
within 10 s of each coming back; only a configuration error ends it, at once, with
EX_CONFIG (which the systemd units do not restart).

On a PostgreSQL cluster and a Mosquitto of the test's own, so that it can start them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dispatcher import cli
from dispatcher.config import Settings
from dispatcher.startup import EX_CONFIG
from harness.mosquitto import OwnMosquitto
from harness.mqtt import wait_for
from harness.ports import free_port
from harness.postgres import OwnPostgres

pytestmark = pytest.mark.postgres

PASSWORD = "comes-back-dispatcher-secret"
BACK_WITHIN_S = 10.0


async def _until(what: str, check: Callable[[], Awaitable[bool]], within: float) -> float:
    """Seconds it took `check` to hold; fails after `within`."""
    start = time.monotonic()
    try:
        await wait_for(check, within=within, interval=0.1)
    except TimeoutError:
        raise AssertionError(f"not {what} within {within} s") from None
    return time.monotonic() - start


class _Run:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dispatcher.cli", "run"],
                env={**env, "DISPATCHER_HTTP__PORT": str(self.port)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def health(self, client: aiohttp.ClientSession) -> tuple[int, dict[str, Any]] | None:
        assert self.proc.poll() is None, f"exited {self.proc.returncode}:\n{self.text()}"
        try:
            async with client.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                return response.status, await response.json()
        except aiohttp.ClientError:
            return None

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        return self.proc.returncode


async def test_started_with_the_database_and_the_broker_down_it_waits_and_comes_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pg = OwnPostgres()
    broker = OwnMosquitto(tmp_path)
    pg.init()  # not started: a power cut, the dispatcher is up first
    db_url = pg.url("postgres")
    key_file = str(tmp_path / "mqtt.key")
    env = {
        **os.environ,
        "DISPATCHER_DATABASE__URL": db_url,
        "DISPATCHER_MQTT__URL": broker.dispatcher_url,
        "DISPATCHER_MQTT__PASSWORD": PASSWORD,
        "DISPATCHER_MQTT__CREDENTIALS_KEY_FILE": key_file,
    }
    run = _Run(env, tmp_path / "dispatcher.log")
    try:
        async with aiohttp.ClientSession() as client:

            async def says(*missing: str) -> bool:
                """503 naming these and only these of what can be missing."""
                answer = await run.health(client)
                named = {"database", "broker", "starting"} & set(answer[1] if answer else ())
                return answer is not None and answer[0] == 503 and named == set(missing)

            await _until("503 naming both", lambda: says("database", "broker", "starting"), 60)
            # it keeps waiting, a line in the log each try, until its longest backoff
            await _until(
                "five tries logged",
                lambda: asyncio.sleep(0, run.text().count("waiting for the database at") >= 5),
                30,
            )
            assert "postgresql+asyncpg://postgres@127.0.0.1" in run.text()
            _, body = await run.health(client) or (0, {})
            assert body["database"].startswith("unreachable")
            # the dashboard waits too: the same 503, not an error of a missing schema
            async with client.get(f"http://127.0.0.1:{run.port}/api/alarms") as api:
                assert api.status == 503
                assert (await api.json())["starting"] is True

            pg.start()
            db_took = await _until("the database seen", lambda: says("broker"), BACK_WITHIN_S)
            await broker.write_accounts(
                Settings.model_validate(
                    {
                        "database": {"url": db_url},
                        "mqtt": {
                            "url": broker.dispatcher_url,
                            "password": PASSWORD,
                            "credentials_key_file": key_file,
                        },
                    }
                )
            )
            broker.start()

            async def healthy() -> bool:
                answer = await run.health(client)
                return answer is not None and answer[0] == 200

            mqtt_took = await _until("healthy", healthy, BACK_WITHIN_S)
            # a broker restart: back again, and no error of a task nobody reads
            broker.stop()
            await _until("the broker missed", lambda: says("broker"), BACK_WITHIN_S)
            broker.start()
            again_took = await _until("healthy again", healthy, BACK_WITHIN_S)
        with capsys.disabled():
            print(
                f"\nhealthy {db_took:.1f} s after the database came back, {mqtt_took:.1f} s "
                f"after the broker, {again_took:.1f} s after a broker restart"
            )
        assert run.stop() == 0
        assert "never retrieved" not in run.text()
        assert "Traceback" not in run.text()
    finally:
        run.stop()
        broker.stop()
        pg.remove()


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"DISPATCHER_DATABASE__URL": "nosuch+driver://x/y"}, "database.url"),
        (
            {"DISPATCHER_DATABASE__URL": "postgresql+asyncpg://postgres@127.0.0.1/no_such_db_17"},
            "no_such_db_17",
        ),
        (
            {"DISPATCHER_MQTT__URL": "http://127.0.0.1:1883"},
            "mqtt.url must look like",
        ),
        (
            {
                "DISPATCHER_MQTT__URL": "mqtts://127.0.0.1:8883",
                "DISPATCHER_MQTT__CA_FILE": "/nonexistent/ca.pem",
            },
            "No such file",
        ),
    ],
)
def test_a_configuration_error_ends_it_at_once_with_ex_config(
    override: dict[str, str],
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DISPATCHER_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path}/d.db")
    monkeypatch.setenv("DISPATCHER_HTTP__PORT", "0")
    monkeypatch.setenv("DISPATCHER_MQTT__PASSWORD", PASSWORD)
    for name, value in override.items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    assert cli.main(["run"]) == EX_CONFIG
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert "configuration" in err
    assert named in err
