"""What a client sends is checked by the models the description names: every POST and
PUT refuses a bad body with 422 and every problem named by its field (the editing
bodies by the city data rules, named by their place), every GET a bad query with 400;
the error bodies are as described. And the editing models say what the city data rules
accept: the same keys, and every row of the demo city fits them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatcher.config import Settings
from dispatcher.users.accounts import Role
from dispatcher.web.openapi import description
from dispatcher.web.routes import API
from dispatcher.web.schemas.people import (
    ContactEdit,
    ResidentEdit,
    ShiftEdit,
    WorkerEdit,
    WorkersEdit,
)
from harness.city import seed_city
from tests.web.described import Spec, answer_schema, fill, problems_with, resolve
from tests.web.helpers import bearer, form_login, web_only

SettingsFor = Callable[..., Settings]
Client = TestClient[web.Request, web.Application]
DEMO = Path(__file__).resolve().parents[2] / "simulators" / "demo_city.yaml"
# the values of path parameters in the small city of `seed_city`
PLACES = {"alarm_id": "1", "resident_id": "r-0001", "community_id": "kangqiao", "device_id": "x"}
# the POSTs that take no body at all
BODILESS = {
    ("post", "/api/alarms/{alarm_id}/ack"),
    ("post", "/api/alarms/{alarm_id}/arrived"),
    ("post", "/api/logout"),
    ("post", "/r/{token}/{action}"),  # the responder's buttons: the path says it all
}


def wrong_value(schema: dict[str, Any]) -> object:
    """A JSON value a property's `schema` refuses: a number where text or one of some
    words goes, else text."""
    kinds = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", ())}
    return 12345 if "string" in kinds or "enum" in schema else "not-a-value"


def names(field: str, problem: dict[str, Any]) -> bool:
    """Whether one problem of a 422 names the body's top field `field`."""
    where = problem.get("field", problem.get("place", ""))
    return field in re.split(r"[.\[]", where) or f"{field} is required" in problem["message"]


async def send(client: Client, token: str, method: str, url: str, data: bytes) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with client.request(method, url, data=data, headers=headers) as response:
        return response.status, await response.json()


@dataclass(frozen=True)
class Target:
    """One POST or PUT of the description, as a client that sends it bad bodies."""

    client: Client
    token: str
    spec: Spec
    method: str
    path: str

    async def refuses(self, data: bytes, *fields: str) -> None:
        """`data` is answered 422 as described, naming every one of `fields`."""
        url = fill(self.path, PLACES)
        status, answer = await send(self.client, self.token, self.method.upper(), url, data)
        assert status == 422, (url, data, answer)
        refused = answer_schema(self.spec, self.method, self.path, 422)
        assert problems_with(self.spec, refused, answer) == [], answer
        assert answer["error"]
        assert answer["errors"]
        for field in fields:
            assert any(names(field, p) for p in answer["errors"]), (url, field, answer)


async def test_every_post_and_put_refuses_a_bad_body_naming_the_field(
    db_url: str, settings_for: SettingsFor
) -> None:
    spec: Spec = description(API)
    async with web_only(settings_for(db_url)) as w:
        await seed_city(w.sessions, residents=1)
        await w.add_user("boss", Role.ADMIN)
        token = await bearer(w.client, "boss")
        checked = []
        for path, operations in spec["paths"].items():
            for method in sorted(set(operations) & {"post", "put"}):
                if "requestBody" not in operations[method]:
                    assert (method, path) in BODILESS
                    continue
                target = Target(w.client, token, spec, method, path)
                content = operations[method]["requestBody"]["content"]
                body = resolve(spec, content["application/json"]["schema"])
                await target.refuses(b"not json")
                await target.refuses(b'["an", "array"]')
                await target.refuses(b"{}", *body.get("required", ()))
                for field, schema in body["properties"].items():
                    await target.refuses(json.dumps({field: wrong_value(schema)}).encode(), field)
                checked.append(path)
        assert len(checked) == 9, checked


async def test_bad_bodies_in_particular(sqlite_url: str, settings_for: SettingsFor) -> None:
    async with web_only(settings_for(sqlite_url)) as w:
        await seed_city(w.sessions, residents=1)
        await w.add_user("op1", Role.OPERATOR)
        token = await bearer(w.client, "op1")
        url = "/api/alarms/1/resolve"
        # a system-only outcome is no choice for an operator
        status, answer = await send(
            w.client, token, "POST", url, b'{"outcome": "device_recovered"}'
        )
        assert status == 422
        assert answer["errors"][0]["field"] == "outcome"
        assert "help_given" in answer["error"]
        # a misspelt field is refused, not dropped: the note would be lost
        data = b'{"outcome": "other", "nte": "x"}'
        status, answer = await send(w.client, token, "POST", url, data)
        assert (status, answer["errors"][0]["field"]) == (422, "nte")
        status, answer = await send(
            w.client, token, "POST", "/api/alarms/1/notes", b'{"note": " "}'
        )
        assert (status, answer["errors"][0]["field"]) == (422, "note")
        # past the model: the alarm's existence is the handler's (404)
        status, _ = await send(w.client, token, "POST", url, b'{"outcome": "other"}')
        assert status == 404


async def test_every_bad_query_value_gets_400_naming_the_parameter(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    spec: Spec = description(API)
    async with web_only(settings_for(sqlite_url)) as w:
        await w.add_user("boss", Role.ADMIN)  # past every role check, to the query's
        headers = {"Authorization": f"Bearer {await bearer(w.client, 'boss')}"}
        tried = []
        for path, operations in spec["paths"].items():
            for parameter in operations.get("get", {}).get("parameters", ()):
                schema = resolve(spec, parameter["schema"])
                if parameter["in"] != "query" or not (
                    "enum" in schema or schema.get("type") == "integer"
                ):
                    continue  # any text is a search; any word a yes or no
                name = parameter["name"]
                async with w.client.get(f"{path}?{name}=sleeping", headers=headers) as response:
                    assert response.status == 400, (path, name)
                    answer = await response.json()
                assert problems_with(spec, answer_schema(spec, "get", path, 400), answer) == []
                assert [p["field"] for p in answer["errors"]] == [name]
                tried.append(name)
        assert sorted(tried) == [
            *["before"] * 2,  # alarms, audit
            *["kind"] * 2,  # alarms and their CSV
            *["limit"] * 3,  # alarms, audit, terminals
            *["status"] * 2,  # alarms and their CSV
        ]
        # dates are local dates, in order
        for path, query, field in (
            ("/api/alarms", "from=yesterday", "from"),
            ("/api/alarms.csv", "to=2026-13-01", "to"),
            ("/api/reports/daily", "from=2026-11-30&to=2026-11-01", ""),
            ("/api/reports/daily", "from=2025-01-01&to=2026-11-01", ""),
            ("/api/alarms", "before=3", ""),  # the queue's order has no pages
        ):
            async with w.client.get(f"{path}?{query}", headers=headers) as response:
                assert response.status == 400, (path, query)
                assert [p["field"] for p in (await response.json())["errors"]] == [field]
        # what has always been accepted still is
        for ok in ("/api/alarms?status=", "/api/alarms?limit=0", "/api/terminals?problems=no"):
            async with w.client.get(ok, headers=headers) as response:
                assert response.status == 200, ok


def _allowed_keys(message: str) -> set[str]:
    found = re.search(r"allowed: (.*)$", message)
    assert found is not None, message
    return set(found[1].split(", "))


Edit = type[ResidentEdit | ContactEdit | WorkerEdit | ShiftEdit]


@pytest.mark.parametrize(
    "case",
    [
        ("/api/residents/r-0001", {"nickname": "x"}, ResidentEdit, {"id"}),
        ("/api/residents/r-0001", {"contacts": [{"nickname": "x"}]}, ContactEdit, set()),
        ("/api/communities/kangqiao/workers", {"workers": [{"nickname": "x"}]}, WorkerEdit, set()),
        (
            "/api/communities/kangqiao/workers",
            {"workers": [{"shifts": [{"nickname": "x"}]}]},
            ShiftEdit,
            set(),
        ),
    ],
)
async def test_the_editing_models_name_the_keys_the_city_rules_take(
    sqlite_url: str, settings_for: SettingsFor, case: tuple[str, dict[str, Any], Edit, set[str]]
) -> None:
    """An unknown key makes the rules list the keys they take: the model's fields."""
    path, body, model, extra_keys = case
    async with web_only(settings_for(sqlite_url)) as w:
        await seed_city(w.sessions, residents=1)
        await w.add_user("boss", Role.ADMIN)
        token = await bearer(w.client, "boss")
        status, answer = await send(w.client, token, "PUT", path, json.dumps(body).encode())
    assert status == 422
    (unknown,) = [p for p in answer["errors"] if "nickname" in p["message"]]
    assert _allowed_keys(unknown["message"]) == set(model.model_fields) | extra_keys


def test_every_row_of_the_demo_city_fits_the_editing_models() -> None:
    demo = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    for row in demo["residents"]:
        ResidentEdit.model_validate({k: v for k, v in row.items() if k != "id"})
    for community in demo["communities"]:
        WorkersEdit.model_validate({"workers": community["workers"]})


async def test_what_once_answered_500_is_refused_or_not_found(
    db_url: str, settings_for: SettingsFor
) -> None:
    """Each cause of a 5xx schemathesis found, on both databases: ids past 64 bits (no
    database can bind them), NUL in text (PostgreSQL cannot hold it), a form body that
    cannot be read, and a CSRF token that is not ASCII."""
    async with web_only(settings_for(db_url)) as w:
        await seed_city(w.sessions, residents=1)
        await w.add_user("boss", Role.ADMIN)
        token = await bearer(w.client, "boss")
        huge = "163462557024045891584"
        for method, path in (
            ("POST", f"/api/alarms/{huge}/notes"),
            ("POST", f"/api/alarms/{huge}/ack"),
            ("POST", f"/api/alarms/-{huge}/resolve"),
            ("GET", f"/api/alarms/{huge}"),
            ("GET", f"/api/alarms/{2**63}/context"),
            ("GET", "/api/terminals/T%00"),
            ("GET", "/api/residents/r-0001%00"),
        ):
            body = b'{"note": "x", "outcome": "other"}' if method == "POST" else b""
            status, answer = await send(w.client, token, method, path, body)
            assert status == 404, (path, answer)
            assert answer["error"].startswith("bad "), answer
        status, _ = await send(w.client, token, "GET", f"/api/alarms/{2**63 - 1}", b"")
        assert status == 404  # the largest id is fine, and there is no such alarm
        # a community's workers given as null: none, as in the city file
        status, _ = await send(
            w.client, token, "PUT", "/api/communities/kangqiao/workers", b'{"workers": null}'
        )
        assert status == 200
        # pages after an id past 64 bits: the same, in the query
        for path in ("/api/alarms?status=all", "/api/audit?resident_id=r-0001"):
            status, answer = await send(w.client, token, "GET", f"{path}&before={huge}", b"")
            assert (status, answer["errors"][0]["field"]) == (400, "before"), path
        # an id that could not be created is a bad request for the PUT that would
        status, _ = await send(w.client, token, "PUT", "/api/residents/r%00", b"{}")
        assert status == 400
        status, answer = await send(w.client, token, "GET", "/api/residents?q=%00", b"")
        assert (status, answer["errors"][0]["field"]) == (400, "q")
        data = json.dumps({"username": "boss\x00", "password": "x"}).encode()
        status, answer = await send(w.client, token, "POST", "/api/login", data)
        assert (status, answer["errors"][0]["field"]) == (422, "username")
        status, answer = await send(
            w.client, token, "POST", "/api/alarms/1/notes", b'{"note": "a\\u0000b"}'
        )
        assert (status, answer["errors"][0]["field"]) == (422, "note")
        # the login form: a NUL username is only a failed login
        assert await form_login(w.client, "boss\x00") == 401
        # a form body aiohttp cannot read (multipart without its boundary)
        assert await form_login(w.client, "boss") == 303
        for path in ("/login", "/logout", "/twilio/sms"):
            async with w.client.post(
                path, data=b"a=b", headers={"Content-Type": "multipart/form-data"}
            ) as response:
                assert response.status == 400, path
        # a CSRF token that is not ASCII is a wrong one, not an error of ours
        async with w.client.post("/logout", data={"csrf": "令牌"}) as response:
            assert response.status == 403
        async with w.client.post(
            "/api/alarms/1/notes", json={"note": "x"}, headers={"X-CSRF-Token": "é"}
        ) as response:
            assert response.status == 403
