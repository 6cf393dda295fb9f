"""Residents found by what an operator hears on the phone, and edited by administrators
under the rules of `dispatcher load`: a bad row is refused whole, with its place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatcher.config import Settings
from dispatcher.users.accounts import Role
from harness.city import seed_city
from tests.web.helpers import bearer, web_only

SettingsFor = Callable[..., Settings]
Client = TestClient[web.Request, web.Application]


async def _get(client: Client, token: str, path: str) -> Any:
    async with client.get(path, headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def _put(client: Client, token: str, path: str, body: object) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with client.put(path, json=body, headers=headers) as response:
        return response.status, await response.json()


async def test_search_by_name_phone_address_and_terminal(
    db_url: str, settings_for: SettingsFor
) -> None:
    async with web_only(settings_for(db_url)) as w:
        await seed_city(w.sessions, residents=3)
        await w.add_user("op1", Role.OPERATOR)
        token = await bearer(w.client, "op1")
        for q, expected in (
            ("居民2", ["r-0002"]),  # name
            ("+8613900030002", ["r-0003"]),  # a contact's phone
            ("纬北路1号", ["r-0001"]),  # address
            ("t-0002", ["r-0002"]),  # terminal id, any case
            ("50%_", []),  # LIKE wildcards are taken literally
        ):
            found = await _get(w.client, token, f"/api/residents?q={q.replace('+', '%2B')}")
            assert [r["id"] for r in found] == expected, q
        card = await _get(w.client, token, "/api/residents/r-0001")
        # no alarm of hers is open: her medical notes are not the operator's to read
        assert (card["medical"], card["medical_withheld"]) == ("", True)
        assert [c["name"] for c in card["contacts"]] == ["李娜", "赵强"]
        assert card["terminal"]["device_id"] == "T-0001"
        assert {w["id"] for w in card["workers"]} == {"w-day", "w-night"}


async def test_an_admin_edits_a_resident_by_the_rules_of_the_city_file(
    db_url: str, settings_for: SettingsFor
) -> None:
    async with web_only(settings_for(db_url)) as w:
        await seed_city(w.sessions, residents=1)
        await w.add_user("boss", Role.ADMIN)
        token = await bearer(w.client, "boss")
        row = {
            "name": "王秀英",
            "birth_year": 1938,
            "community": "kangqiao",
            "address": "天桥区纬北路12号3单元201",
            "medical": "高血压；糖尿病；青霉素过敏",
            "terminal": "T-0001",
            "contacts": [
                {"name": "李娜", "relation": "女儿", "phone": "+8613900000001", "priority": 1},
                {"name": "赵强", "relation": "邻居", "phone": "12345", "priority": 1},
            ],
        }
        status, body = await _put(w.client, token, "/api/residents/r-0001", row)
        assert status == 422
        places = {e["place"] for e in body["errors"]}
        assert "residents[0] (r-0001).contacts[1].phone" in places
        assert "residents[0] (r-0001).contacts[1].priority" in places
        assert (await _get(w.client, token, "/api/residents/r-0001"))["name"] == "居民1"

        row["contacts"][1].update(phone="+8613900000002", priority=2)  # type: ignore[index]
        status, body = await _put(w.client, token, "/api/residents/r-0001", row)
        assert status == 200, body
        assert body["medical"] == "高血压；糖尿病；青霉素过敏"
        assert [c["phone"] for c in body["contacts"]] == ["+8613900000001", "+8613900000002"]

        # a new resident in a community that does not exist is refused with a hint
        status, body = await _put(
            w.client, token, "/api/residents/r-new", {**row, "community": "kangqao"}
        )
        assert status == 422
        assert "did you mean 'kangqiao'" in body["errors"][0]["message"]


async def test_an_admin_edits_workers_and_shifts(db_url: str, settings_for: SettingsFor) -> None:
    async with web_only(settings_for(db_url)) as w:
        await seed_city(w.sessions, residents=1)
        await w.add_user("boss", Role.ADMIN)
        token = await bearer(w.client, "boss")
        path = "/api/communities/kangqiao/workers"
        worker = {"id": "w-day", "name": "张丽", "phone": "+8613800000001"}
        bad = {
            "workers": [{**worker, "shifts": [{"days": "mon-sun", "start": "8am", "end": "20:00"}]}]
        }
        status, body = await _put(w.client, token, path, bad)
        assert status == 422
        assert "bad time '8am'" in body["errors"][0]["message"]
        shift = {"days": "daily", "start": "07:00", "end": "19:00"}
        good = {"workers": [{**worker, "shifts": [shift]}]}
        status, body = await _put(w.client, token, path, good)
        assert status == 200, body
        (community,) = body
        assert [x["id"] for x in community["workers"]] == ["w-day"]  # w-night is gone
        assert community["workers"][0]["shifts"] == [shift]
        status, _ = await _put(w.client, token, "/api/communities/nowhere/workers", good)
        assert status == 404
