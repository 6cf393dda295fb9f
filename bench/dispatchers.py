"""The dispatcher as the benchmarks run it: `dispatcher run` in OS processes of its own,
configured only by `DISPATCHER_...` environment variables, watched from outside
(`/healthz`, `/metrics`, `/proc/PID/status`), optionally under `py-spy record`.

With `Setup.split` each dispatcher is two processes, as a city runs them: ingest and
web (the one watched: health, metrics, RSS, profile) and the engine and the notifier
(`back`), which the first wakes by PostgreSQL NOTIFY.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.broker import DISPATCHER_PASSWORD, DISPATCHER_USER, PREFIX, Broker, stop
from harness.dispatcher_process import DispatcherProcess
from harness.ports import free_port

ACCOUNT_SID = "AC" + "0" * 32
# how long the broker keeps a stopped dispatcher's session (production: a week)
SESSION_EXPIRY_S = 5
# Twilio's own test "from" number shape; the sink takes anything
FROM_NUMBER = "+15005550006"
# Every press opens an emergency whose first step texts contact 1 at once (and puts it
# in the operators' queue), so that press -> first request at the Twilio sink is one
# step of the engine and one send of the notifier. The shipped policy waits 60 s for an
# operator before it texts anyone; the measure is of the machinery, not of that wait.
# A contact's phone is the resident's own (a worker's is shared by 300 residents and
# the per-phone throttle would hold most of their texts). The next step is an hour away:
# none comes due within a run.
BENCH_POLICY = {
    "emergency": {
        "repeat": 0,
        "steps": [
            {
                "notify": ["operators", "contact:1"],
                "channels": ["dashboard", "sms"],
                "wait_s": 3600,
            },
            {"notify": ["contacts"], "channels": ["sms"], "wait_s": 3600},
        ],
    }
}


class Dispatcher(DispatcherProcess):
    """A dispatcher process of the bench, perhaps under py-spy, perhaps with its `back`
    (with Setup.split: the engine and notifier process beside this ingest and web one)."""

    def __init__(self, index: int, *, env: dict[str, str], log: Path, http_port: int, cwd: Path):
        super().__init__(env=env, log=log, http_port=http_port, cwd=cwd)
        self.index = index
        self.profiler: subprocess.Popen[bytes] | None = None
        self.profile_path: Path | None = None
        self.rss: list[tuple[float, int]] = []
        self.back: Dispatcher | None = None


@dataclass(frozen=True)
class Setup:
    """What every dispatcher process of a run shares."""

    workdir: Path
    database_url: str
    broker: Broker
    sink_port: int
    extra_env: Mapping[str, str] = field(default_factory=dict)
    profile_dir: Path | None = None
    profile_rate: int = 100
    # each dispatcher as two processes: ingest,web and engine,notifier
    split: bool = False


def environment(setup: Setup, index: int, http_port: int, shared: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCHER_")}
    env |= {
        "DISPATCHER_DATABASE__URL": setup.database_url,
        "DISPATCHER_MQTT__URL": setup.broker.url,
        "DISPATCHER_MQTT__TOPIC_PREFIX": PREFIX,
        "DISPATCHER_MQTT__USERNAME": DISPATCHER_USER,
        "DISPATCHER_MQTT__PASSWORD": DISPATCHER_PASSWORD,
        # A session outlives its process and keeps its subscriptions: one resumed by a
        # process with another shared_group would get every message twice (the old
        # filter and the new), and a stopped one in a shared group may be handed its
        # share. So an id per process count, and sessions that expire soon after a
        # scenario (`Run.dispatchers` waits for that before the next one).
        "DISPATCHER_MQTT__CLIENT_ID": f"dispatcher@bench-{'shared' if shared else 'alone'}:{index}",
        "DISPATCHER_MQTT__SESSION_EXPIRY_S": str(SESSION_EXPIRY_S),
        "DISPATCHER_HTTP__HOST": "127.0.0.1",
        "DISPATCHER_HTTP__PORT": str(http_port),
        "DISPATCHER_METRICS__ALLOW": '["127.0.0.1/32"]',  # the bench scrapes from here
        "DISPATCHER_NOTIFICATIONS__PROVIDER": "twilio",
        "DISPATCHER_NOTIFICATIONS__PUBLIC_URL": "http://127.0.0.1:9",
        "DISPATCHER_NOTIFICATIONS__TWILIO__API_BASE": f"http://127.0.0.1:{setup.sink_port}",
        "DISPATCHER_NOTIFICATIONS__TWILIO__ACCOUNT_SID": ACCOUNT_SID,
        "DISPATCHER_NOTIFICATIONS__TWILIO__AUTH_TOKEN": secrets.token_hex(16),
        "DISPATCHER_NOTIFICATIONS__TWILIO__FROM_NUMBER": FROM_NUMBER,
        "DISPATCHER_ESCALATION": json.dumps(BENCH_POLICY),
        "DISPATCHER_MQTT__CREDENTIALS_KEY_FILE": str(setup.workdir / "mqtt-credentials.key"),
    }
    if shared:
        env["DISPATCHER_MQTT__SHARED_GROUP"] = "bench"
    if setup.split:
        env["DISPATCHER_RUN__ROLES"] = "ingest,web"
    return env | dict(setup.extra_env)


def start(setup: Setup, count: int, label: str) -> list[Dispatcher]:
    """`count` processes (a shared subscription when more than one), each ready (its
    /healthz answers ok: database reachable, broker connected) before this returns."""
    started = []
    for index in range(1, count + 1):
        port = free_port()
        d = Dispatcher(
            index,
            env=environment(setup, index, port, shared=count > 1),
            log=setup.workdir / f"dispatcher-{label}-{index}.log",
            http_port=port,
            cwd=setup.workdir,
        )
        d.start()
        started.append(d)
    try:
        for d in started:
            d.wait_healthy()
            if setup.profile_dir is not None:
                profile(d, setup.profile_dir, label, setup.profile_rate)
        if setup.split:
            # after the first processes migrated the database: no two migrate at once
            for d in started:
                start_back(setup, d, label, shared=count > 1)
    except BaseException:
        stop_all(started)
        raise
    return started


def start_back(setup: Setup, d: Dispatcher, label: str, *, shared: bool) -> None:
    """The engine and notifier process of dispatcher `d`: the same configuration and
    client id (its broker session is `<client id>.commands`; the ingest process has no
    notifier to sign claims with the id), other roles, its own /healthz and /metrics."""
    port = free_port()
    env = environment(setup, d.index, port, shared) | {"DISPATCHER_RUN__ROLES": "engine,notifier"}
    d.back = Dispatcher(
        d.index,
        env=env,
        log=setup.workdir / f"dispatcher-{label}-{d.index}-engine.log",
        http_port=port,
        cwd=setup.workdir,
    )
    d.back.start()
    d.back.wait_healthy()


def profile(d: Dispatcher, folder: Path, label: str, rate: int) -> None:
    """Attach `py-spy record` (sampling, from outside; needs ptrace, which root has) to
    the running process: collapsed stacks, which speedscope shows as a flame graph and
    `bench.profile_summary` sums up. Only what runs after start-up is sampled."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    d.profile_path = folder / f"{label}-{d.index}.txt"
    d.profiler = subprocess.Popen(  # noqa: S603
        [py_spy, "record", "--pid", str(d.pid), "--rate", str(rate), "--format", "raw",
         "--output", str(d.profile_path), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=(folder / f"{label}-{d.index}.py-spy.log").open("ab"),
    )  # fmt: skip


def stop_all(dispatchers: list[Dispatcher]) -> None:
    """Orderly: SIGTERM lets each drain and ack what it took. py-spy is stopped first
    (SIGINT: it writes its file), so that the shutdown is not in the profile."""
    for d in dispatchers:
        if d.profiler is not None and d.profiler.poll() is None:
            d.profiler.send_signal(2)
    for d in dispatchers:
        if d.profiler is not None:
            try:
                d.profiler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                d.profiler.kill()
    procs = [p.proc for d in dispatchers for p in (d, d.back) if p is not None]
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.terminate()  # all at once, then each waited for
    for proc in procs:
        if proc is not None:
            stop(proc, timeout=30)


def metrics(d: Dispatcher) -> dict[str, float]:
    """The process's Prometheus counters and gauges, summed over labels."""
    with urllib.request.urlopen(d.url("/metrics"), timeout=5) as answer:  # noqa: S310
        text = answer.read().decode()
    found: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        name = name.partition("{")[0]
        try:
            found[name] = found.get(name, 0.0) + float(value)
        except ValueError:
            continue
    return found


def rss_bytes(pid: int) -> int:
    """Resident set size from /proc (Linux), 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0
