"""The benchmarks' harness (`bench/`) still fits the service: what it configures is
valid, its Twilio sink is taken for Twilio by our gateway, its broker configuration is
still derived from the deployed one. Behaviour only: the benchmarks print times, no test
asserts one."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bench import broker, cpu, dispatchers, sink
from bench.observe import SinkLog
from bench.profile_summary import summarise
from bench.report import Report
from dispatcher.config import Settings
from dispatcher.notify.twilio import TwilioGateway
from dispatcher.rules.policy import Channel
from harness.mosquitto import deployed_conf


def _setup(tmp_path: Path) -> dispatchers.Setup:
    return dispatchers.Setup(
        tmp_path, "postgresql+asyncpg://postgres@127.0.0.1/x", broker.Broker(1883), 8099
    )


@pytest.mark.parametrize("shared", [False, True])
def test_the_dispatchers_environment_is_a_valid_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared: bool
) -> None:
    env = dispatchers.environment(_setup(tmp_path), 2, 8123, shared=shared)
    for key in [k for k in os.environ if k.startswith("DISPATCHER_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("DISPATCHER_"):
            monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.notifications.provider == "twilio"
    assert settings.notifications.twilio.api_base == "http://127.0.0.1:8099"
    assert settings.mqtt.shared_group == ("bench" if shared else None)
    # a client id no terminal can take, one per process
    assert settings.mqtt.client_id.endswith(":2")
    # every press texts contact 1 in the first step
    first = settings.escalation.emergency.steps[0]
    assert "contact:1" in first.notify
    assert Channel.SMS in first.channels


def test_the_broker_configuration_is_the_deployed_one_on_a_free_port(tmp_path: Path) -> None:
    conf = deployed_conf(
        tmp_path,
        dispatcher_listener="listener 40001 127.0.0.1",
        accounts=tmp_path,
        terminals=None,
        quiet=True,
    )
    assert "listener 40001 127.0.0.1" in conf
    assert "8883" not in conf  # the terminals' TLS listener is left out
    assert f"password_file {tmp_path}/passwd-dispatcher" in conf
    assert "max_queued_messages 1000000" in conf
    broker._accounts(tmp_path)
    users = [line.split(":")[0] for line in (tmp_path / "passwd-dispatcher").read_text().split()]
    assert users == [broker.DISPATCHER_USER, broker.LOAD_USER]


@pytest.fixture
async def twilio_sink(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    out_path = tmp_path / "sink.txt"
    # line-buffered: the benchmark's sink flushes on a timer of its own
    with out_path.open("w", buffering=1) as out:
        runner = web.AppRunner(sink.app(out))
        await runner.setup()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield f"http://127.0.0.1:{port}", out_path
        finally:
            await runner.cleanup()


async def test_our_twilio_gateway_takes_the_sink_for_twilio(twilio_sink: tuple[str, Path]) -> None:
    url, out_path = twilio_sink
    log = SinkLog(out_path)
    log.watch(0, {"+8613900000001"})
    async with TwilioGateway(
        url, dispatchers.ACCOUNT_SID, "token", dispatchers.FROM_NUMBER, timeout_s=5
    ) as gateway:
        sms = await gateway.send_sms("+8613900000001", "王秀英按了紧急按钮")
        call = await gateway.place_call("+8613900000002", "http://127.0.0.1:9/twiml")
    assert sms.startswith("SM")
    assert call.startswith("CA")
    assert log.poll() == 1  # the wanted one
    assert set(log.first) == {"+8613900000001", "+8613900000002"}


def test_a_profile_is_summed_by_package_and_function(tmp_path: Path) -> None:
    site = "/x/lib/python3.11/site-packages"
    stacks = tmp_path / "profile.txt"
    stacks.write_text(
        f"main (/w/dispatcher/cli.py:10);mark_sent (/w/dispatcher/store/deliveries.py:5);"
        f"execute ({site}/sqlalchemy/orm/session.py:1) 3\n"
        f"main (/w/dispatcher/cli.py:10);_handle (/w/dispatcher/ingest/listener.py:7) 1\n"
    )
    text = summarise(stacks)
    assert "4 samples" in text
    assert "75.0%  sqlalchemy" in text
    assert "25.0%  dispatcher/ingest" in text
    assert "75.0%  mark_sent (dispatcher/store/deliveries.py)" in text


def test_a_failed_check_is_reported_and_a_missed_target_is_not_a_failure() -> None:
    report = Report()
    report.add("steady", "press -> ack p99", "838 ms", "< 100 ms", met=False)
    report.check("steady", True, "all acked")
    assert not report.broken
    report.check("steady", False, "3 of 5 presses acked")
    assert report.broken == ["steady: 3 of 5 presses acked"]
    table = report.table()
    assert "MISSED" in table
    assert "!! steady: 3 of 5 presses acked" in table


def test_processes_are_told_apart_by_what_they_run() -> None:
    assert cpu.kind_of("postgres", "postgres: bench_ab12 idle") == "PostgreSQL"
    assert cpu.kind_of("mosquitto", "mosquitto -c /tmp/x/mosquitto.conf") == "broker"
    assert cpu.kind_of("mosquitto_pub", "mosquitto_pub -l -t x") == "load"
    assert cpu.kind_of("python", "/v/bin/python -m dispatcher.cli run") == "dispatcher"
    assert cpu.kind_of("python", "/v/bin/python -m bench.sink --port 1") == "sink"
    assert cpu.kind_of("python", "/v/bin/python -m bench.publisher plan.json") == "load"


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads /proc")
def test_the_cpu_a_window_used_is_counted_for_its_kind() -> None:
    """This test's own work is load; a window without any sample in it says nothing."""
    with cpu.CpuWatch(every_s=0.05) as watch:
        started = time.time_ns()
        spent = time.process_time()
        while time.process_time() - spent < 0.3:  # work, not a wait: what is counted
            sum(range(1000))
        ended = time.time_ns()
    usage = watch.usage(started, ended)
    assert usage is not None
    assert usage.seconds["load"] >= 0.2
    assert 0 < usage.busy <= 1
    assert usage.per(3, "unit").endswith("µs a unit; busy " + f"{usage.busy:.0%}")
    assert watch.usage(ended + 10**12, ended + 2 * 10**12) is None
