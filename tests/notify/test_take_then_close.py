"""An operator takes an alarm and closes it a moment later (T then R: a false alarm),
while the notifier is sending the terminal its `help_coming`. Over and over, on both
databases: neither action fails, and the terminal hears `help_coming` then
`alarm_closed`, each once, in that order."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from dispatcher.config import Settings
from dispatcher.store.models import Notification
from dispatcher.users.accounts import Role
from harness.city import seed_city
from harness.mqtt import RawPeer, event, raw_peer, wait_for
from harness.service import add_user, api_client, running

MOSQUITTO = ("127.0.0.1", 1883)
SettingsFor = Callable[..., Settings]
ROUNDS = 20


async def commands_until(
    peer: RawPeer, heard: dict[str, list[str]], alarm_id: str, count: int
) -> list[str]:
    """What the terminal has heard about `alarm_id` once it has heard `count` commands
    about it (commands about other alarms are kept for theirs)."""
    while len(heard[alarm_id]) < count:
        _, command = await peer.next_command()
        heard[command["alarm_id"]].append(command["type"])
    return heard[alarm_id]


async def test_take_then_close_at_once_the_terminal_hears_both_in_order(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    async with running(settings_for(db_url), http=True) as service:
        city = await seed_city(service.sessions, residents=1)
        device = city.terminals[0]
        await add_user(service, "op1", Role.OPERATOR)
        heard: dict[str, list[str]] = defaultdict(list)
        closed: list[int] = []
        async with raw_peer(MOSQUITTO, topic_prefix) as peer, api_client(service, "op1") as api:
            for round_ in range(ROUNDS):
                await peer.publish(device, "event", event(f"sos-{round_}"))
                assert (await peer.next_ack())[1]["result"] == "accepted"

                async def open_alarm() -> int | None:
                    async with api.get("/api/alarms?status=open") as response:
                        found: list[dict[str, Any]] = await response.json()
                    return found[0]["id"] if found else None

                alarm_id = await wait_for(open_alarm)
                async with api.post(f"/api/alarms/{alarm_id}/ack") as taken:
                    take = taken.status
                # the terminal's help_coming is on its way: close at once
                await asyncio.sleep(round_ % 5 * 0.002)  # a few different moments
                async with api.post(
                    f"/api/alarms/{alarm_id}/resolve", json={"outcome": "false_alarm"}
                ) as resolved:
                    close = resolved.status
                assert (take, close) == (200, 200), (round_, await resolved.text())
                closed.append(alarm_id)
                got = await commands_until(peer, heard, str(alarm_id), 2)
                assert got == ["help_coming", "alarm_closed"], (round_, got)
            # each once: nothing more reached the terminal meanwhile
            assert peer.commands.empty()
            assert all(len(said) == 2 for said in heard.values()), heard
        # and nothing more was ever queued or sent for them: two rows each, delivered

        async def terminal_rows() -> dict[int, list[tuple[str, str]]] | None:
            async with service.sessions() as session:
                rows = list(
                    await session.execute(
                        select(Notification.alarm_id, Notification.body, Notification.status)
                        .where(Notification.channel == "terminal")
                        .order_by(Notification.id)
                    )
                )
            if any(status != "delivered" for _, _, status in rows):
                return None  # the last one's delivery is being written
            per_alarm: dict[int, list[tuple[str, str]]] = defaultdict(list)
            for alarm, body, status in rows:
                per_alarm[alarm].append((body["type"], status))
            return per_alarm

        per_alarm = await wait_for(terminal_rows)
        assert sorted(per_alarm) == sorted(closed)
        for alarm in closed:
            assert per_alarm[alarm] == [("help_coming", "delivered"), ("alarm_closed", "delivered")]
