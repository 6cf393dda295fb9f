"""Schemathesis against the served service: every operation of `/api/openapi.json` (and
the dashboard's pages and Twilio's webhooks, described here for the fuzzer only) gets
generated input, odd and huge ids, NUL bytes and all, as an admin with a token and a
session cookie, on the demo city with open, taken and closed alarms. No answer may be
a 5xx.

A short deterministic run here; the long one by hand, with more examples for each
operation (and with `-s`, the figures):

    FUZZ_EXAMPLES=1000 .venv/bin/pytest tests/web/test_fuzz.py -s
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.http_exceptions import BadHttpMessage

from dispatcher.city_file.load import load_file
from dispatcher.config import Settings
from dispatcher.users.accounts import Role
from harness.mqtt import event, raw_peer, wait_for
from harness.service import add_user, running

SettingsFor = Callable[..., Settings]
MOSQUITTO = ("127.0.0.1", 1883)
DEMO = Path(__file__).resolve().parents[2] / "simulators" / "demo_city.yaml"
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# each database: about 30 s of requests on this machine
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "20"))


def _text(name: str, where: str = "query") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": {"type": "string"}}


def _form(*fields: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {f: {"type": "string"} for f in fields}}
    return {"content": {"application/x-www-form-urlencoded": {"schema": schema}}}


def _answers() -> dict[str, Any]:
    return {"default": {"description": "anything but a server error"}}


def beside_the_api() -> dict[str, dict[str, Any]]:
    """The routes that are not the API's (not in its description): the dashboard's pages,
    the login form, logout, the language switch and Twilio's webhooks."""
    page = {"get": {"parameters": [_text("next")], "responses": _answers()}}
    paths: dict[str, dict[str, Any]] = {
        "/": {"get": {"responses": _answers()}},
        "/login": {
            "get": {"parameters": [_text("next")], "responses": _answers()},
            "post": {
                "requestBody": _form("username", "password", "csrf", "next"),
                "responses": _answers(),
            },
        },
        "/logout": {"post": {"requestBody": _form("csrf"), "responses": _answers()}},
        "/lang/{lang}": {
            "get": {"parameters": [_text("lang", "path"), _text("next")], "responses": _answers()}
        },
        "/twilio/sms": {
            "post": {"requestBody": _form("From", "Body", "MessageSid"), "responses": _answers()}
        },
    }
    # a notification id past the database's ids (it once answered 500)
    nid = _text("nid", "path") | _edges("1", "99999999999999999999999", str(2**63))
    for hook in ("status", "voice", "gather"):
        paths[f"/twilio/{hook}/{{nid}}"] = {
            "post": {
                "parameters": [nid],
                "requestBody": _form("CallStatus", "MessageStatus", "Digits", "AnsweredBy"),
                "responses": _answers(),
            }
        }
    for path in ("/queue", "/terminals", "/residents", "/admin"):
        paths[path] = page
    for path, name in (
        ("/alarms/{alarm_id}", "alarm_id"),
        ("/residents/{resident_id}", "resident_id"),
        ("/admin/residents/{resident_id}", "resident_id"),
    ):
        paths[path] = {"get": {"parameters": [_text(name, "path")], "responses": _answers()}}
    return paths


def _edges(*values: str) -> dict[str, Any]:
    """Examples the fuzzer tries first (its `examples` phase), each by itself."""
    return {"examples": {f"edge{n}": {"value": value} for n, value in enumerate(values)}}


# the calendar's edges and the days just inside what may be named: a local day at the
# calendar's edge has no UTC start or no day after it (these once answered 500)
DATE_EDGES = ("0001-01-01", "1899-12-31", "1900-01-01", "9999-12-30", "9999-12-31")


def with_examples(spec: dict[str, Any], examples: dict[str, object]) -> dict[str, Any]:
    """The description with an example for each path parameter, one that exists here, so
    that the fuzzer reaches past "not found"; and the edges of the calendar for every
    date in a query, which random generation would hardly ever try."""
    for operations in spec["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                if parameter["in"] == "path" and parameter["name"] in examples:
                    parameter["example"] = examples[parameter["name"]]
                schema = parameter.get("schema", {})
                kinds = [schema, *schema.get("anyOf", ())]
                if parameter["in"] == "query" and any(k.get("format") == "date" for k in kinds):
                    parameter.update(_edges(*DATE_EDGES))
    return spec


async def test_generated_requests_get_no_server_error(
    db_url: str,
    settings_for: SettingsFor,
    topic_prefix: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)
    async with running(settings_for(db_url), http=True) as service:
        await load_file(DEMO, service.sessions)
        await add_user(service, "boss", Role.ADMIN)
        base = f"http://127.0.0.1:{service.http_port}"
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            for device in ("T-0001", "T-0002", "T-0003"):
                await peer.publish(device, "event", event())
                assert (await peer.next_ack())[1]["result"] == "accepted"
        async with aiohttp.ClientSession(base) as client:
            async with client.post(
                "/api/login", json={"username": "boss", "password": "password-123"}
            ) as response:
                token = (await response.json())["token"]
            client.headers["Authorization"] = f"Bearer {token}"

            async def alarms() -> list[int]:
                async with client.get("/api/alarms") as response:
                    found = [a["id"] for a in await response.json()]
                return found if len(found) == 3 else []

            first, second, _ = await wait_for(alarms)
            async with client.post(f"/api/alarms/{first}/ack") as response:
                assert response.status == 200
            async with client.post(
                f"/api/alarms/{second}/resolve", json={"outcome": "false_alarm"}
            ) as response:
                assert response.status == 200
            async with client.get("/api/openapi.json") as response:
                spec = await response.json()
        examples = {
            "alarm_id": first,
            "device_id": "T-0001",
            "resident_id": "r-0001",
            "community_id": "kangqiao",
        }
        # logging out would end the token every later request is made with (it has a
        # test of its own, tests/web/test_accounts.py)
        del spec["paths"]["/api/logout"]
        spec = with_examples(spec, examples)
        spec["paths"] |= beside_the_api()
        described = tmp_path / "openapi.json"
        described.write_text(json.dumps(spec), encoding="utf-8")
        report, requests = tmp_path / "report.json", tmp_path / "requests.har"
        # deterministic: the same requests each run, so a failure here is reproducible
        fuzzer = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS),
            "run",
            str(described),
            "--url",
            base,
            "-H",
            f"Authorization: Bearer {token}",
            "-H",
            f"Cookie: dispatcher_session={token}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--generation-deterministic",
            "--generation-allow-x00",
            "true",
            "--report",
            "json,har",
            "--report-json-path",
            str(report),
            "--report-har-path",
            str(requests),
            "--no-color",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await fuzzer.communicate()
    text = output.decode(errors="replace")
    assert fuzzer.returncode == 0, text[-6000:]
    found = json.loads(report.read_text(encoding="utf-8"))
    operations = sum(len(ops) for ops in spec["paths"].values())
    assert found["operations"]["tested"] == operations, found["operations"]
    assert found["failures"] == []
    assert found["test_cases"]["generated"] >= operations * 10, found["test_cases"]
    # nothing failed inside the service either: aiohttp logs a handler's exception (and,
    # at the same level, a request its parser refused with 400, which is no failure)
    failed = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("aiohttp")
        and not (r.exc_info and isinstance(r.exc_info[1], BadHttpMessage))
    ]
    assert failed == []
    sent = json.loads(requests.read_text(encoding="utf-8"))["log"]["entries"]
    assert all(entry["response"]["status"] < 500 for entry in sent)
    print(
        f"schemathesis: {len(sent)} requests ({found['test_cases']['generated']} test cases) "
        f"over {operations} operations in {found['running_time']:.0f} s, none answered 5xx"
    )
