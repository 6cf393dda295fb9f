"""The HTTP contract of docs/api.md as outside tools use it: health, metrics, login,
alarms and terminals, and the errors a wrong call gets."""

from __future__ import annotations

import json
from collections.abc import Callable

import aiohttp

from dispatcher.config import Settings
from dispatcher.users.accounts import Role
from harness.city import seed_city
from harness.mqtt import event, raw_peer, wait_for
from harness.service import add_user, api_client, running

MOSQUITTO = ("127.0.0.1", 1883)
ALARM_FIELDS = {
    "id",
    "device_id",
    "resident_id",
    "kind",
    "type",
    "status",
    "priority",
    "created_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "outcome",
    "step",
}


async def test_the_contract_end_to_end(
    db_url: str, settings_for: Callable[..., Settings], topic_prefix: str
) -> None:
    async with running(settings_for(db_url), http=True) as service:
        city = await seed_city(service.sessions)
        await add_user(service, "op1", Role.OPERATOR)
        base = f"http://127.0.0.1:{service.http_port}"
        async with aiohttp.ClientSession(base) as anon:
            async with anon.get("/healthz") as health:
                assert (health.status, await health.json()) == (200, {"status": "ok"})
            async with anon.get("/metrics") as metrics:
                text = await metrics.text()
                assert metrics.status == 200
                assert "dispatcher_mqtt_connected 1.0" in text
            async with anon.get("/api/alarms") as no_token:
                assert no_token.status == 401
            async with anon.get(
                "/api/alarms", headers={"Authorization": "Bearer not-a-token"}
            ) as bad_token:
                assert bad_token.status == 401
            async with anon.post(
                "/api/login", json={"username": "op1", "password": "wrong-password"}
            ) as wrong:
                assert wrong.status == 401
            async with anon.post("/api/login", data="not json") as garbled:
                assert garbled.status == 422
                assert "JSON" in (await garbled.json())["error"]

        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            await peer.publish(city.terminals[0], "event", event("http-1", battery=55))
            assert (await peer.next_ack())[1]["result"] == "accepted"
            beat = {"v": 1, "ts": "2026-11-27T03:00:00+08:00", "battery": 54, "power": "mains"}
            await peer.publish(city.terminals[0], "heartbeat", json.dumps(beat))

        async with api_client(service, "op1") as api:
            async with api.get("/api/alarms?status=open") as listed:
                alarms = await listed.json()
            assert len(alarms) == 1
            assert set(alarms[0]) >= ALARM_FIELDS
            assert (alarms[0]["resident_id"], alarms[0]["kind"]) == ("r-0001", "emergency")
            async with api.get(f"/api/alarms/{alarms[0]['id']}") as one:
                detail = await one.json()
            assert detail["timeline"][0]["kind"] == "device_event"
            assert detail["timeline"][0]["event_id"] == "http-1"
            async with api.get("/api/alarms?status=sleeping") as bad_status:
                assert bad_status.status == 400
            async with api.get("/api/alarms/999999") as missing:
                assert missing.status == 404

            async def after_heartbeat() -> dict[str, object] | None:
                async with api.get(f"/api/terminals/{city.terminals[0]}") as response:
                    body: dict[str, object] = await response.json()
                # liveness is written in batches: wait for the flush with the heartbeat
                return body if body.get("battery") == 54 else None

            seen = await wait_for(after_heartbeat, within=10)
            assert seen["resident_id"] == "r-0001"
            assert seen["online"] is True
            assert seen["last_seen"] is not None
            async with api.get("/api/terminals/T-NOPE") as nope:
                assert nope.status == 404
