"""The embedded default: SQLite and the in-process broker, nothing installed."""

from __future__ import annotations

import socket
from pathlib import Path

from dispatcher.config import Settings
from dispatcher.store.models import Alarm
from tests.support.city import seed_city
from tests.support.mqtt import event, raw_peer
from tests.support.service import count, running


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_press_on_the_embedded_broker_and_sqlite(tmp_path: Path) -> None:
    port = _free_port()
    settings = Settings.model_validate(
        {
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'dispatcher.db'}"},
            "mqtt": {"embedded": {"port": port}},
            "http": {"port": 0},
        }
    )
    assert settings.mqtt.is_embedded
    async with running(settings) as service:
        city = await seed_city(service.sessions)
        async with raw_peer(("127.0.0.1", port), "eldercare") as peer:
            await peer.publish(city.terminals[0], "event", event("emb-1"))
            _, ack = await peer.next_ack()
            assert ack == {"event_id": "emb-1", "result": "accepted"}
            await peer.publish(city.terminals[0], "event", event("emb-1"))
            _, again = await peer.next_ack()
            assert again["result"] == "duplicate"
        assert await count(service, Alarm) == 1
