"""The OpenAPI description validates, names exactly the routes the app serves, closes
every object it describes, and says exactly what every GET really answers: on a demo
city with open, taken and closed alarms, each answer is checked against its schema
(no field left out of the description, no described field missing, at any depth)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from openapi_spec_validator import validate

from dispatcher.city_file.load import load_file
from dispatcher.config import Settings
from dispatcher.users.accounts import Role
from dispatcher.web.openapi import description
from dispatcher.web.routes import API
from harness.mqtt import event, raw_peer, wait_for
from harness.service import add_user, api_client, running
from tests.web.described import answer_schema, fill, open_objects, problems_with
from tests.web.helpers import bearer, web_only

SettingsFor = Callable[..., Settings]
MOSQUITTO = ("127.0.0.1", 1883)
DEMO = Path(__file__).resolve().parents[2] / "simulators" / "demo_city.yaml"
_DOCUMENTED = re.compile(r"^/api/|^/healthz$|^/metrics$|^/r/")
_NOT_JSON = ("/metrics", "/api/live", "/api/alarms.csv", "/r/{token}")


def served(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every API route; HEAD comes with GET and is not described."""
    return {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and _DOCUMENTED.match(route.resource.canonical)
        and route.method not in ("HEAD", "*")
    }


async def test_the_description_validates_and_matches_the_routes(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    async with web_only(settings_for(sqlite_url)) as w:
        await w.add_user("op1", Role.OPERATOR)
        token = await bearer(w.client, "op1")
        async with w.client.get(
            "/api/openapi.json", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 200
            spec = await response.json()
        validate(spec)
        described = {
            (method, path)
            for path, operations in spec["paths"].items()
            for method in operations
            if method in ("get", "put", "post", "patch", "delete")
        }
        assert described == served(w.app)
        # served without a login too: it holds no data
        async with w.client.get("/api/openapi.json") as response:
            assert response.status == 200
            assert await response.json() == spec
        # every path parameter of a route is declared where it is described
        for path, operations in spec["paths"].items():
            names = set(re.findall(r"\{([^}]+)\}", path))
            for operation in operations.values():
                declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
                assert declared == names, path


def test_every_described_object_is_closed() -> None:
    """So that checking an answer against its schema finds any field not described."""
    spec = description(API)
    assert open_objects(spec) == []
    alarm = spec["components"]["schemas"]["Alarm"]
    # the fields the hand-written description had lost
    assert {"round", "next_step_at", "escalation_exhausted", "cancel_requested_at", "note"} <= set(
        alarm["required"]
    )
    terminal = spec["components"]["schemas"]["Terminal"]
    assert {"rssi", "power", "fw"} <= set(terminal["required"])


async def test_health_when_the_broker_is_down_is_described(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    spec = description(API)
    async with (
        web_only(settings_for(sqlite_url), broker_ok=False) as w,
        w.client.get("/healthz") as response,
    ):
        assert response.status == 503
        body = await response.json()
    assert body == {"status": "unavailable", "broker": "not connected"}
    assert problems_with(spec, answer_schema(spec, "get", "/healthz", 503), body) == []


def _demo_terminals(count: int) -> list[tuple[str, str]]:
    """(device id, resident id) of the first residents of the demo city."""
    residents = yaml.safe_load(DEMO.read_text(encoding="utf-8"))["residents"]
    return [(r["terminal"], r["id"]) for r in residents[:count]]


async def test_every_get_answers_exactly_what_is_described(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    (t_open, r_open), (t_taken, _), (t_closed, _), (t_quiet, _) = _demo_terminals(4)
    async with running(settings_for(db_url), http=True) as service:
        await load_file(DEMO, service.sessions)
        await add_user(service, "boss", Role.ADMIN)
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            for device in (t_open, t_taken, t_closed):
                await peer.publish(device, "event", event(f"get-{device}"))
                assert (await peer.next_ack())[1]["result"] == "accepted"
            beat = {"v": 1, "ts": "2026-11-27T03:00:00+08:00", "battery": 15, "rssi": -80}
            beat |= {"power": "battery", "fw": "1.4.2"}
            await peer.publish(t_open, "heartbeat", json.dumps(beat))

        async with api_client(service, "boss") as api:

            async def get(path: str) -> Any:
                async with api.get(path) as response:
                    assert response.status == 200, (path, await response.text())
                    return await response.json()

            async def three_alarms() -> dict[str, int] | None:
                found = {a["device_id"]: a["id"] for a in await get("/api/alarms")}
                return found if len(found) == 3 else None

            ids = await wait_for(three_alarms)
            async with api.post(f"/api/alarms/{ids[t_taken]}/ack") as taken:
                assert taken.status == 200
            async with api.post(
                f"/api/alarms/{ids[t_closed]}/resolve", json={"outcome": "help_given", "note": "ok"}
            ) as closed:
                assert closed.status == 200
            async with api.post(f"/api/alarms/{ids[t_open]}/notes", json={"note": "在路上"}) as n:
                assert n.status == 200

            async def heartbeat_written() -> bool:
                return bool((await get(f"/api/terminals/{t_open}"))["fw"] == "1.4.2")

            await wait_for(heartbeat_written)
            spec = await get("/api/openapi.json")
            values = {"resident_id": r_open}
            # each GET of the description, with every case worth seeing (ids, filters)
            calls: dict[str, list[str]] = {
                "/api/alarms": [
                    "",
                    "?status=open",
                    "?status=resolved",
                    "?limit=1",
                    "?status=all&kind=emergency&q=r-",
                ],
                "/api/reports/daily": ["", "?community=kangqiao"],
                "/api/audit": [f"?resident_id={r_open}", ""],
                "/api/alarms/{alarm_id}": [str(i) for i in ids.values()],
                "/api/alarms/{alarm_id}/context": [str(i) for i in ids.values()],
                "/api/terminals": ["", "?problems=1"],
                "/api/terminals/{device_id}": [t_open, t_quiet],
                "/api/residents": ["", "?q=王"],
            }
            seen: dict[str, list[Any]] = {}
            for path, operations in spec["paths"].items():
                if "get" not in operations or path in _NOT_JSON:
                    continue  # text and a WebSocket: no JSON answer
                schema = answer_schema(spec, "get", path, 200)
                for case in calls.get(path, [""]):
                    if "{alarm_id}" in path:
                        url = fill(path, {**values, "alarm_id": case})
                    elif "{device_id}" in path:
                        url = fill(path, {**values, "device_id": case})
                    else:
                        url = fill(path, values) + case
                    body = await get(url)
                    assert problems_with(spec, schema, body) == [], url
                    seen.setdefault(path, []).append(body)
            # a 404 is described too
            async with api.get("/api/alarms/999999/context") as missing:
                assert missing.status == 404
                schema = answer_schema(spec, "get", "/api/alarms/{alarm_id}/context", 404)
                assert problems_with(spec, schema, await missing.json()) == []

    assert set(seen) == {
        path
        for path, operations in spec["paths"].items()
        if "get" in operations and path not in _NOT_JSON
    }
    assert seen["/api/audit"][0]  # the views of the alarm view above
    assert any(row["emergencies"] for row in seen["/api/reports/daily"][0])
    # the nested parts were there to be checked, not empty or null
    views = seen["/api/alarms/{alarm_id}/context"]
    assert all(v["resident"] and v["terminal"] and v["contacts"] and v["workers"] for v in views)
    assert any(v["notifications"] for v in views)
    assert {v["status"] for v in views} == {"open", "acknowledged", "resolved"}
    assert all(line["resident"] for line in seen["/api/queue"][0]["alarms"])
    assert any(t["resident"] and t["rssi"] == -80 for t in seen["/api/terminals"][0])
    card = seen["/api/residents/{resident_id}"][0]
    assert all(card[part] for part in ("terminal", "contacts", "workers", "alarms"))
    assert any(c["workers"] and c["workers"][0]["shifts"] for c in seen["/api/communities"][0])
    assert seen["/healthz"] == [{"status": "ok"}]
