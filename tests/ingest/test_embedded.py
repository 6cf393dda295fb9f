"""The embedded default: SQLite and the in-process broker, nothing installed, nothing
to configure; terminals log in with their accounts (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from dispatcher.config import Settings
from dispatcher.store.models import Alarm
from harness.city import seed_city
from harness.mosquitto import issue_credentials
from harness.mqtt import event, raw_peer
from harness.ports import free_port
from harness.service import count, running

ROOT = Path(__file__).resolve().parents[2]


def _embedded(tmp_path: Path, port: int) -> Settings:
    return Settings.model_validate(
        {
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'dispatcher.db'}"},
            "mqtt": {
                "embedded": {"port": port},
                "credentials_key_file": str(tmp_path / "var" / "mqtt-credentials.key"),
            },
            "http": {"port": 0},
        }
    )


async def test_press_on_the_embedded_broker_and_sqlite(tmp_path: Path) -> None:
    port = free_port()
    settings = _embedded(tmp_path, port)
    assert settings.mqtt.is_embedded
    assert settings.mqtt.password is None  # the service makes one for itself
    assert settings.mqtt.client_id.startswith("dispatcher@")
    async with running(settings) as service:
        city = await seed_city(service.sessions)
        first = city.terminals[0]
        passwords = await issue_credentials(settings, [first])
        login = (first, passwords[first])
        async with raw_peer(("127.0.0.1", port), "eldercare", login=login) as peer:
            await peer.publish(first, "event", event("emb-1"))
            _, ack = await peer.next_ack()
            assert ack == {"event_id": "emb-1", "result": "accepted"}
            await peer.publish(first, "event", event("emb-1"))
            _, again = await peer.next_ack()
            assert again["result"] == "duplicate"
        assert await count(service, Alarm) == 1


async def _command(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """A command of the package as a person types it, while the service runs."""
    env = {
        **os.environ,
        "DISPATCHER_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'dispatcher.db'}",
        "DISPATCHER_MQTT__CREDENTIALS_KEY_FILE": str(tmp_path / "var" / "mqtt-credentials.key"),
    }
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_readme_demo(tmp_path: Path) -> None:
    """`./dev run`, `dispatcher load simulators/demo_city.yaml`, then
    `simulate terminal T-0001 --press sos` prints `accepted`."""
    port = free_port()
    bin_dir = Path(sys.executable).parent
    broker = f"mqtt://127.0.0.1:{port}"
    async with running(_embedded(tmp_path, port)):
        code, _, err = await _command(
            tmp_path, str(bin_dir / "dispatcher"), "load", "simulators/demo_city.yaml"
        )
        assert code == 0, err
        simulate = [str(bin_dir / "simulate"), "terminal", "T-0001", "--broker", broker]
        code, out, err = await _command(tmp_path, *simulate, "--press", "sos")
        assert (code, out) == (0, "accepted\n"), err
        code, out, err = await _command(tmp_path, *simulate, "--press", "sos", "--password", "x")
        assert code == 4
        assert "refused the login of T-0001" in err
