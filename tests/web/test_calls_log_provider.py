"""An operator's call on the embedded defaults (the log provider): nothing is dialled,
the log says whom it would have rung (numbers masked), and the timeline says it was only
logged, so nobody waits for a phone that will not ring."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from dispatcher.store.models import EventLog
from dispatcher.users.accounts import Role
from harness.city import seed_city
from harness.mqtt import event, raw_peer
from harness.service import add_user, api_client, only_alarm, running
from tests.web.test_browser import SettingsFor

MOSQUITTO = ("127.0.0.1", 1883)


async def test_a_call_on_the_log_provider_is_logged_not_placed(
    sqlite_url: str, settings_for: SettingsFor, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(sqlite_url)
    async with running(settings, http=True) as service:
        await seed_city(service.sessions, residents=1)
        await add_user(service, "op1", Role.OPERATOR, phone="+8613800000009")
        async with raw_peer(MOSQUITTO, settings.mqtt.topic_prefix) as peer:
            await peer.publish("T-0001", "event", event("sos-log"))
            assert (await peer.next_ack())[1]["result"] == "accepted"
        alarm = await only_alarm(service)
        caplog.set_level(logging.INFO, logger="dispatcher.calls")
        async with (
            api_client(service, "op1") as client,
            client.post(f"/api/alarms/{alarm.id}/call", json={"to": "contact:1"}) as response,
        ):
            assert response.status == 200
            body = await response.json()
        assert (body["provider"], body["name"], body["status"]) == ("log", "李娜", "placed")
        async with service.sessions() as session:
            lines = list(
                await session.scalars(
                    select(EventLog).where(
                        EventLog.alarm_id == alarm.id, EventLog.kind.like("call_%")
                    )
                )
            )
        assert [line.kind for line in lines] == ["call_placed"]
        assert lines[0].data is not None
        assert lines[0].data["provider"] == "log"
        logged = [r.getMessage() for r in caplog.records if r.name == "dispatcher.calls"]
        assert logged == [
            (
                f"[call {body['id']}] would ring the operator at +86138****0009, "
                "then 李娜 at +86139****0001"
            )
        ]
