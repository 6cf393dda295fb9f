"""Scopes (docs/api.md, "Scopes"): a street's supervisor sees their street, on every
route of the table. Each operation of `dispatcher.web.routes.API` has a probe here (a
new operation without one fails `test_every_operation_has_a_scope_probe`): lists,
exports, reports, the wall and the map answer nothing of another street (what the whole
city's administrator gets from the same call shows that there was something to hide);
another street's resident, alarm, terminal and community are 404, its alarms cannot be
taken, noted or closed; the live feed sends nothing of it. The wallboard's account
reads the wall alone.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from dispatcher.city_file.load import load_file
from dispatcher.config import Settings
from dispatcher.users.accounts import Role
from dispatcher.web.pages import PAGES
from dispatcher.web.routes import API
from harness.mqtt import event, raw_peer, wait_for
from harness.service import add_user, api_client, running
from tests.web.helpers import form_login, web_only

SettingsFor = Callable[..., Settings]
MOSQUITTO = ("127.0.0.1", 1883)
DEMO = Path(__file__).resolve().parents[2] / "simulators" / "demo_city.yaml"
STREET = "纬北路街道"  # kangqiao and chengfengqiao of the demo city
INSIDE, OUTSIDE = ("T-0001", "r-0001"), ("T-0017", "r-0017")  # kangqiao, wuying-zhonglu

# no resident's data, or a credential of its own: nothing to scope
UNSCOPED = {
    ("GET", "/healthz"): "the service's health",
    ("GET", "/metrics"): "counters of the whole service, for its monitoring",
    ("POST", "/api/login"): "gives a token",
    ("POST", "/api/logout"): "ends the caller's own token",
    ("GET", "/api/openapi.json"): "the routes' shapes, no data",
    ("GET", "/r/{token}"): "the link is the credential: one recipient, one alarm",
    ("POST", "/r/{token}/{action}"): "the link is the credential: one recipient, one alarm",
}


@dataclass
class Markers:
    """What belongs to the street (`inside`) and to the rest of the city (`outside`)."""

    inside: set[str] = field(default_factory=set)
    outside: set[str] = field(default_factory=set)
    outside_alarm: int = 0
    inside_alarm: int = 0

    def _found(self, text: str, words: set[str]) -> set[str]:
        return {w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)}

    def outside_in(self, body: Any) -> set[str]:
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        found = self._found(text, self.outside)
        if self.outside_alarm in set(_alarm_ids(body)):
            found.add(f"alarm {self.outside_alarm}")
        return found

    def inside_in(self, body: Any) -> set[str]:
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        return self._found(text, self.inside)


def _alarm_ids(body: Any) -> Iterator[int]:
    if isinstance(body, dict):
        is_alarm = "priority" in body  # an alarm's line (other things have ids too)
        for key, value in body.items():
            if (key == "alarm_id" or (key == "id" and is_alarm)) and isinstance(value, int):
                yield value
            yield from _alarm_ids(value)
    elif isinstance(body, list):
        for value in body:
            yield from _alarm_ids(value)


def markers() -> Markers:
    city = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    found = Markers()
    street_of = {c["id"]: c["street"] for c in city["communities"]}
    for c in city["communities"]:
        side = found.inside if c["street"] == STREET else found.outside
        side |= {c["id"], c["name"], c["street"]}
        for person in [*c.get("workers", []), *c.get("providers", [])]:
            side |= {person["id"], person["phone"]}
    for r in city["residents"]:
        side = found.inside if street_of[r["community"]] == STREET else found.outside
        terminal = r.get("terminal")
        side |= {r["id"], r["address"]}
        side.add(terminal["id"] if isinstance(terminal, dict) else terminal)
    found.outside -= found.inside  # a name both sides share tells nothing
    found.outside.discard("天桥区")
    return found


class Caller:
    def __init__(self, client: aiohttp.ClientSession) -> None:
        self.client = client

    async def call(
        self, method: str, path: str, body: object = None, *, status: int | None = 200
    ) -> Any:
        async with self.client.request(method, path, json=body) as response:
            text = await response.text()
            if status is not None:
                assert response.status == status, (method, path, response.status, text)
            if response.content_type == "application/json":
                return json.loads(text)
            return text


@dataclass
class World:
    m: Markers
    street: Caller  # supervisor of the street
    street_admin: Caller  # administrator of the street
    city: Caller  # administrator of the whole city


Probe = Callable[[World], Awaitable[None]]


def shows_street_only(path: str, *, csv_text: bool = False) -> Probe:
    """A list: the city's answer names the rest of the city, the street's does not, and
    names the street."""

    async def probe(w: World) -> None:
        whole = await w.city.call("GET", path)
        mine = await w.street.call("GET", path)
        if csv_text:
            whole, mine = _cells(whole), _cells(mine)
        assert w.m.outside_in(whole), f"{path}: the city's answer hides nothing to test with"
        assert w.m.outside_in(mine) == set(), path
        assert w.m.inside_in(mine), f"{path}: the street's own data is missing"

    return probe


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def not_found_outside(method: str, path: str, body: object = None, *, who: str = "street") -> Probe:
    """One thing of the rest of the city: 404 for the street, there for the city."""

    async def probe(w: World) -> None:
        concrete = _fill(path, w, outside=True)
        caller = w.street if who == "street" else w.street_admin
        await caller.call(method, concrete, body, status=404)
        if method == "GET":
            await w.city.call("GET", concrete)
            await caller.call("GET", _fill(path, w, outside=False))

    return probe


def _fill(path: str, w: World, *, outside: bool) -> str:
    terminal, resident = OUTSIDE if outside else INSIDE
    return (
        path.replace("{alarm_id}", str(w.m.outside_alarm if outside else w.m.inside_alarm))
        .replace("{resident_id}", resident)
        .replace("{device_id}", terminal)
        .replace("{community_id}", "wuying-zhonglu" if outside else "kangqiao")
    )


async def _me(w: World) -> None:
    me = await w.street.call("GET", "/api/me")
    assert me == {"username": "street", "role": "supervisor", "scope": f"street:{STREET}"}
    assert (await w.city.call("GET", "/api/me"))["scope"] is None


async def _put_resident(w: World) -> None:
    await w.street_admin.call("PUT", f"/api/residents/{OUTSIDE[1]}", {"name": "改名"}, status=404)
    moved = await w.street_admin.call(
        "PUT",
        f"/api/residents/{INSIDE[1]}",
        {"community": "wuying-zhonglu"},
        status=422,
    )
    assert moved["errors"][0]["field"] == "community"
    card = await w.city.call("GET", f"/api/residents/{OUTSIDE[1]}")
    assert card["name"] != "改名"


async def _put_workers(w: World) -> None:
    await w.street_admin.call(
        "PUT", "/api/communities/wuying-zhonglu/workers", {"workers": []}, status=404
    )
    kept = await w.city.call("GET", "/api/communities")
    assert next(c for c in kept if c["id"] == "wuying-zhonglu")["workers"]


async def _reports(w: World) -> None:
    await shows_street_only("/api/reports/daily")(w)
    await w.street.call("GET", "/api/reports/daily?community=wuying-zhonglu", status=404)


async def _summary(w: World) -> None:
    await shows_street_only("/api/reports/summary")(w)
    await w.street.call("GET", "/api/reports/summary?community=wuying-zhonglu", status=404)


def _act(path: str, body: object = None) -> Probe:
    """An action on another street's alarm: 404, and the alarm is as it was."""

    async def probe(w: World) -> None:
        before = await w.city.call("GET", f"/api/alarms/{w.m.outside_alarm}")
        await w.street.call("POST", _fill(path, w, outside=True), body, status=404)
        after = await w.city.call("GET", f"/api/alarms/{w.m.outside_alarm}")
        assert after["status"] == before["status"]
        assert len(after["timeline"]) == len(before["timeline"])

    return probe


async def _live(w: World) -> None:
    """The street's screen: a snapshot of its alarms alone; a change of another street's
    alarm never comes, one of its own does."""
    async with w.street.client.ws_connect("/api/live") as ws:
        snapshot = await _next(ws, "snapshot")
        assert {a["id"] for a in snapshot["alarms"]} == {w.m.inside_alarm}
        await w.city.call("POST", f"/api/alarms/{w.m.outside_alarm}/notes", {"note": "外"})
        await w.city.call("POST", f"/api/alarms/{w.m.inside_alarm}/notes", {"note": "内"})
        seen: list[dict[str, Any]] = []
        async with asyncio.timeout(10):
            while not any(a["id"] == w.m.inside_alarm and a["rev"] for a in seen):
                message = await _next(ws, "alarm")
                seen.append(message["alarm"])
                if message["alarm"]["id"] == w.m.inside_alarm:
                    break
        assert all(a["id"] != w.m.outside_alarm for a in seen)
        assert w.m.outside_in(seen) == set()


async def _next(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(10):
        async for raw in ws:
            message = json.loads(raw.data)
            if message["type"] == kind:
                return dict(message)
    raise AssertionError(f"the socket closed before a {kind} message")


PROBES: dict[tuple[str, str], Probe] = {
    ("GET", "/api/me"): _me,
    ("GET", "/api/live"): _live,
    ("GET", "/api/alarms"): shows_street_only("/api/alarms?status=all"),
    ("GET", "/api/alarms.csv"): shows_street_only("/api/alarms.csv", csv_text=True),
    ("GET", "/api/alarms/{alarm_id}"): not_found_outside("GET", "/api/alarms/{alarm_id}"),
    ("GET", "/api/alarms/{alarm_id}/context"): not_found_outside(
        "GET", "/api/alarms/{alarm_id}/context"
    ),
    ("POST", "/api/alarms/{alarm_id}/ack"): _act("/api/alarms/{alarm_id}/ack"),
    ("POST", "/api/alarms/{alarm_id}/resolve"): _act(
        "/api/alarms/{alarm_id}/resolve", {"outcome": "help_given"}
    ),
    ("POST", "/api/alarms/{alarm_id}/arrived"): _act(
        "/api/alarms/{alarm_id}/arrived", {"who": "张丽"}
    ),
    ("POST", "/api/alarms/{alarm_id}/dispatch"): _act(
        "/api/alarms/{alarm_id}/dispatch", {"provider_id": "p-wy-meals"}
    ),
    ("POST", "/api/alarms/{alarm_id}/service"): _act(
        "/api/alarms/{alarm_id}/service", {"state": "accepted"}
    ),
    ("POST", "/api/alarms/{alarm_id}/notes"): _act("/api/alarms/{alarm_id}/notes", {"note": "x"}),
    ("POST", "/api/alarms/{alarm_id}/call"): _act(
        "/api/alarms/{alarm_id}/call", {"to": "resident"}
    ),
    ("GET", "/api/queue"): shows_street_only("/api/queue"),
    ("GET", "/api/terminals"): shows_street_only("/api/terminals?limit=1000"),
    ("GET", "/api/terminals/{device_id}"): not_found_outside("GET", "/api/terminals/{device_id}"),
    ("GET", "/api/residents"): shows_street_only("/api/residents?q=天桥区"),
    ("GET", "/api/residents/{resident_id}"): not_found_outside(
        "GET", "/api/residents/{resident_id}"
    ),
    ("PUT", "/api/residents/{resident_id}"): _put_resident,
    ("PUT", "/api/residents/{resident_id}/checkin"): not_found_outside(
        "PUT", "/api/residents/{resident_id}/checkin", {"window": "08:00-10:00"}
    ),
    ("GET", "/api/checkins"): shows_street_only("/api/checkins"),
    ("GET", "/api/reports/daily"): _reports,
    ("GET", "/api/reports/summary"): _summary,
    ("GET", "/api/audit"): shows_street_only("/api/audit"),
    ("GET", "/api/communities"): shows_street_only("/api/communities"),
    ("PUT", "/api/communities/{community_id}/workers"): _put_workers,
    ("GET", "/api/wall"): shows_street_only("/api/wall"),
    ("GET", "/api/map"): shows_street_only("/api/map"),
}


def test_every_operation_has_a_scope_probe() -> None:
    table = {(op.method, op.path) for op in API}
    assert table - set(PROBES) - set(UNSCOPED) == set(), "add a scope probe for these"
    assert set(PROBES) | set(UNSCOPED) <= table, "probes of operations that are gone"
    assert all(not op.public for op in API if (op.method, op.path) in PROBES)


async def test_a_street_supervisor_sees_their_street_alone_on_every_route(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    m = markers()
    async with running(settings_for(db_url), http=True) as service:
        await load_file(DEMO, service.sessions)
        await add_user(service, "city", Role.ADMIN)
        await add_user(service, "street", Role.SUPERVISOR, scope=f"street:{STREET}")
        await add_user(service, "street_admin", Role.ADMIN, scope=f"street:{STREET}")
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            for device in (INSIDE[0], OUTSIDE[0]):
                await peer.publish(device, "event", event(f"scope-{device}"))
                assert (await peer.next_ack())[1]["result"] == "accepted"
        async with (
            api_client(service, "city") as city,
            api_client(service, "street") as street,
            api_client(service, "street_admin") as street_admin,
        ):
            w = World(m, Caller(street), Caller(street_admin), Caller(city))

            async def both_open() -> dict[str, int] | None:
                found = {a["device_id"]: a["id"] for a in await w.city.call("GET", "/api/alarms")}
                return found if {INSIDE[0], OUTSIDE[0]} <= set(found) else None

            ids = await wait_for(both_open)
            m.inside_alarm, m.outside_alarm = ids[INSIDE[0]], ids[OUTSIDE[0]]
            # something of each side in the audit log and in today's check-ins
            for resident in (INSIDE[1], OUTSIDE[1]):
                await w.city.call("GET", f"/api/residents/{resident}")
                await w.city.call(
                    "PUT", f"/api/residents/{resident}/checkin", {"window": "06:00-07:00"}
                )
            for (method, path), probe in PROBES.items():
                try:
                    await probe(w)
                except AssertionError as exc:
                    raise AssertionError(f"{method} {path}: {exc}") from exc


async def test_the_wallboard_reads_the_wall_alone(
    sqlite_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    async with running(settings_for(sqlite_url), http=True) as service:
        await load_file(DEMO, service.sessions)
        await add_user(service, "screen", Role.WALLBOARD)
        await add_user(service, "city", Role.ADMIN)
        async with api_client(service, "screen") as screen, api_client(service, "city") as city:
            wall, admin = Caller(screen), Caller(city)
            for op in API:
                if op.public or op.path == "/api/logout":
                    continue
                path = re.sub(r"\{[^}]+\}", "1", op.path)
                expected = 403 if not op.wallboard else None
                if expected is not None:
                    await wall.call(op.method, path, {}, status=expected)
            assert (await wall.call("GET", "/api/wall"))["communities"]
            assert (await wall.call("GET", "/api/me"))["role"] == "wallboard"
            async with screen.ws_connect("/api/live") as ws:
                assert (await _next(ws, "snapshot"))["alarms"] == []
                async with raw_peer(MOSQUITTO, topic_prefix) as peer:
                    await peer.publish(INSIDE[0], "event", event("wall-press"))
                    assert (await peer.next_ack())[1]["result"] == "accepted"
                changed = await _next(ws, "changed")
                assert changed == {"type": "changed"}  # no resident's data
            assert (await admin.call("GET", "/api/alarms"))[0]["device_id"] == INSIDE[0]


async def test_the_wallboard_opens_the_wall_page_and_no_other(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    async with web_only(settings_for(sqlite_url)) as w:
        await w.add_user("screen", Role.WALLBOARD)
        assert await form_login(w.client, "screen") == 303
        async with w.client.get("/", allow_redirects=False) as root:
            assert root.headers["Location"] == "/wall"
        async with w.client.get("/wall") as page:
            assert page.status == 200
            html = await page.text()
        assert re.findall(r'data-nav="([^"]+)"', html) == ["wall"]
        for page_ in PAGES:
            if page_.path != "/wall":
                async with w.client.get(page_.example) as other:
                    assert other.status == 403, page_.path


@pytest.mark.parametrize("scope", ["street:没有这条街", "community:nowhere"])
async def test_a_scope_must_name_a_part_of_the_city(
    sqlite_url: str, settings_for: SettingsFor, scope: str
) -> None:
    async with running(settings_for(sqlite_url)) as service:
        await load_file(DEMO, service.sessions)
        with pytest.raises(ValueError, match="in the city"):
            await add_user(service, "lost", Role.SUPERVISOR, scope=scope)
