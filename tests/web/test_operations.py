"""What an on-call engineer watches: the metrics after a night's work (alarms by their
real kind, the time to take one, open alarms by age, the outbox, offline terminals,
refused webhooks and logins, the process), and the log as JSON lines with the alarm and
the terminal in each line about them, phone numbers masked."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.logs import JsonFormatter, mask_phones
from dispatcher.users.accounts import Role
from harness.city import seed_city
from harness.mqtt import event, raw_peer, wait_for
from harness.service import add_user, api_client, first_step_fired, running

SettingsFor = Callable[..., Settings]
MOSQUITTO = ("127.0.0.1", 1883)
ROOT = Path(__file__).resolve().parents[2]
AT_3AM = datetime(2026, 11, 27, 3, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_phone_numbers_are_masked() -> None:
    assert mask_phones("to 张丽 +8613800000001: ok") == "to 张丽 +86138****0001: ok"
    assert mask_phones("call 13900000002 now") == "call 139****0002 now"
    assert mask_phones("+14155550100") == "+14155****0100"
    # what is not a phone stays: device ids, event ids, times, alarm numbers
    for text in ("T-0001", "event 2026112703000001", "alarm 123456", "2026-11-27T03:00:00+08:00"):
        assert mask_phones(text) == text


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_a_night_as_the_metrics_and_the_log_tell_it(
    sqlite_url: str,
    settings_for: SettingsFor,
    topic_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = ManualClock(AT_3AM)
    async with running(settings_for(sqlite_url), clock=clock, http=True) as service:
        city = await seed_city(service.sessions, residents=2)
        await add_user(service, "op1", Role.OPERATOR)
        sos, quiet = city.terminals
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            await peer.publish(sos, "event", event("night-sos"))
            assert (await peer.next_ack())[1]["result"] == "accepted"
            beat = json.dumps({"v": 1, "ts": "2026-11-27T03:00:00+08:00"})
            await peer.publish(quiet, "heartbeat", beat)
        base = f"http://127.0.0.1:{service.http_port}"
        async with aiohttp.ClientSession(base) as anonymous:
            async with anonymous.post("/api/login", json={"username": "op1", "password": "x"}):
                pass
            async with anonymous.post("/twilio/sms", data={"Body": "1"}) as forged:
                assert forged.status == 403
        async with api_client(service, "op1") as api:
            async with api.get("/api/alarms?status=open") as response:
                (alarm,) = await response.json()
            await wait_for(lambda: first_step_fired(service, alarm["id"]))

            # 90 s: step 1 went to the night worker by SMS (the log channel); then taken
            clock.advance(61)
            await wait_for(lambda: service.notifier.sent >= 3)
            clock.advance(29)
            async with api.post(f"/api/alarms/{alarm['id']}/ack") as taken:
                assert taken.status == 200
            # the quiet terminal: 3 missed heartbeats make it offline; alone (not part of an
            # outage of its community) it gets its own alarm the outage window later
            clock.advance(150 + 120)

            async def offline_opened() -> bool:
                async with api.get("/api/alarms?status=open&kind=device") as response:
                    return len(await response.json()) == 1

            await wait_for(offline_opened)
            async with api.get("/metrics") as response:
                figures = samples(await response.text())
            async with api.post(
                f"/api/alarms/{alarm['id']}/resolve", json={"outcome": "help_given"}
            ) as closed:
                assert closed.status == 200

    assert figures[("dispatcher_alarms_opened_total", (("kind", "emergency"),))] == 1
    assert figures[("dispatcher_alarms_opened_total", (("kind", "device"),))] == 1
    assert figures[("dispatcher_alarm_ack_seconds_count", (("kind", "emergency"),))] == 1
    assert figures[("dispatcher_alarm_ack_seconds_sum", (("kind", "emergency"),))] == 90
    assert (
        figures[("dispatcher_alarm_ack_seconds_bucket", (("kind", "emergency"), ("le", "60.0")))]
        == 0
    )
    assert (
        figures[("dispatcher_alarm_ack_seconds_bucket", (("kind", "emergency"), ("le", "120.0")))]
        == 1
    )
    taken_age = (("age", "5m_30m"), ("kind", "emergency"), ("status", "acknowledged"))
    assert figures[("dispatcher_alarms_open", taken_age)] == 1
    offline_age = (("age", "lt_1m"), ("kind", "device"), ("status", "open"))
    assert figures[("dispatcher_alarms_open", offline_age)] == 1
    assert (
        figures[
            (
                "dispatcher_alarm_oldest_open_seconds",
                (("kind", "emergency"), ("status", "acknowledged")),
            )
        ]
        == 360
    )
    assert figures[("dispatcher_terminals_offline", ())] == 1
    assert figures[("dispatcher_database_up", ())] == 1
    assert ("dispatcher_outbox_oldest_due_seconds", ()) in figures
    assert figures[("dispatcher_webhooks_refused_total", (("hook", "sms"),))] == 1
    assert figures[("dispatcher_logins_total", (("result", "failed"),))] == 1
    assert figures[("dispatcher_logins_total", (("result", "ok"),))] == 1
    assert figures[("process_resident_memory_bytes", ())] > 0  # the standard process metrics

    records = [r for r in caplog.records if r.name.startswith("dispatcher")]
    lines = [json.loads(JsonFormatter().format(r)) for r in records]
    about_alarm = [line for line in lines if line.get("alarm_id") == alarm["id"]]
    said = [line["message"] for line in about_alarm]
    assert any("opened: emergency" in m for m in said)
    assert any("taken by op1 via dashboard after 90 s" in m for m in said)
    assert any("closed by op1: help_given" in m for m in said)
    assert all(line["device_id"] == sos for line in about_alarm if "opened" in line["message"])
    sms = [line for line in lines if line["message"].startswith("[sms to")]
    assert sms, "the worker's SMS went through the log channel"
    everything = "\n".join(JsonFormatter().format(r) for r in records)
    assert "+8613800000002" not in everything  # the night worker's phone
    assert "+86138****0002" in everything


def test_the_log_is_json_lines_when_configured(tmp_path: Path) -> None:
    env = {
        "DISPATCHER_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path}/d.db",
        "DISPATCHER_LOG__FORMAT": "json",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "dispatcher.cli", "migrate"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert lines
    assert all({"ts", "level", "logger", "message"} <= set(line) for line in lines)
