"""The dispatcher beside a simple peer, on one broker in one run: `python -m bench.peer`.

    .venv/bin/python -m bench.peer                    # 300 alarms each, burst then calm
    .venv/bin/python -m bench.peer --alarms 50 --modes burst

The peer is mqtt-alerts 0.4.7 (MIT; MQTT message -> threshold rule -> SQLite state ->
HTTP notification), installed at run time into a venv of its own under
`var/bench-peer/` (never committed). Its config: one sensor per alarm, each on its own
topic `bench/sensors/sN` with one rule (`value` above 50, `for: 0s`) whose notification
is an ntfy POST to a local HTTP sink. A rule needs two samples to fire (the first makes
it pending), so every sensor is primed with one breaching sample first, and the peer's
SQLite is read until all are pending. The dispatcher gets the same count of sos
presses, each from its own terminal, each opening an alarm whose first step texts
contact 1 (`bench.dispatchers.BENCH_POLICY`) through Twilio's API to a sink of its own.

Each mode starts both publishers at the same instant (side by side: they share the
machine's two cores, as in the issue's measurement; `--apart` runs one after the
other): `burst` sends every message at once, `calm` at 20/s. Printed for each: the
notifications' rate (first message sent -> last notification received) and the
latency of each alarm (its message sent -> its notification received), p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.broker import LOAD_PASSWORD, LOAD_USER, PEER_PREFIX, Broker, own_mosquitto, stop
from bench.city_run import Publisher, Run, publish, seed, sos_stream
from bench.city_scenarios import contact_phones, wait_for
from bench.dispatchers import Setup
from bench.engine_bench import fresh_database
from bench.observe import (
    AckCollector,
    SinkLog,
    kept_or_temporary,
    ms,
    percentile,
    rate,
    read_sent,
    start_sink,
)
from bench.report import Report
from harness.ports import free_port

PEER = "mqtt-alerts==0.4.7"
PEER_VENV = Path(__file__).resolve().parents[1] / "var" / "bench-peer" / "venv"
THRESHOLD = 50


def peer_venv() -> Path:
    """The peer's own venv, made on first use; returns its `mqtt-alerts`."""
    exe = PEER_VENV / "bin" / "mqtt-alerts"
    if not exe.exists():
        print(f"installing {PEER} into {PEER_VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)  # noqa: S603
        pip = [str(PEER_VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, PEER], check=True)  # noqa: S603
    version = subprocess.run(  # noqa: S603
        [str(exe), "--version"], check=True, capture_output=True, text=True
    ).stdout.strip()
    if version != PEER.split("==")[1]:
        raise RuntimeError(f"{exe} is version {version}, not {PEER}")
    return exe


def sensor_topic(name: str) -> str:
    return f"{PEER_PREFIX}/{name}"


def peer_config(broker: Broker, sink_port: int, sensors: list[str], state: Path) -> str:
    config = {
        "mqtt": {
            "host": broker.host,
            "port": broker.port,
            "username": LOAD_USER,
            "password": LOAD_PASSWORD,
            "client_id": "bench-peer",
        },
        "state": {"database": str(state)},
        "notifications": {
            "backends": [
                {
                    "id": "sink",
                    "type": "ntfy",
                    "server": f"http://127.0.0.1:{sink_port}",
                    "topic": "alerts",
                }
            ]
        },
        "sensors": [
            {
                "id": name,
                "name": name,
                "topic": sensor_topic(name),
                "value_field": "value",
                "rules": [
                    {
                        "id": "high",
                        "direction": "above",
                        "threshold": THRESHOLD,
                        "for": "0s",
                        "severity": "critical",
                        "backend": "sink",
                        "recovery_enabled": False,
                    }
                ],
            }
            for name in sensors
        ],
    }
    return json.dumps(config, indent=1)  # JSON is YAML


def pending(state: Path) -> int:
    """Sensors whose rule the peer has made pending (or fired), from its SQLite."""
    try:
        with sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=1) as db:
            row = db.execute(
                "SELECT count(*) FROM rule_state WHERE condition_active = 1"
            ).fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0])


def sensor_stream(name: str, sensors: list[str], per_second: float) -> dict[str, object]:
    return {
        "name": name,
        "kind": "sensor",
        "topics": [sensor_topic(s) for s in sensors],
        "count": len(sensors),
        "rate": per_second,
        "qos": 1,
        "value": THRESHOLD * 2,
        "run": name,
    }


@dataclass(frozen=True)
class Side:
    notified: int
    per_s: float
    latencies: list[float]


def side(pub: Publisher, sink: SinkLog, key_of_topic: dict[str, str]) -> Side:
    sent = read_sent(pub.sent_log)
    latencies, arrived = [], []
    for s in sent:
        at = sink.first.get(key_of_topic[s.topic])
        if at is not None:
            latencies.append((at - s.at_ns) / 1e9)
            arrived.append(at)
    first = min((s.at_ns for s in sent), default=0)
    return Side(len(latencies), rate(len(arrived), first, max(arrived, default=0)), latencies)


class Peer:
    def __init__(self, exe: Path, workdir: Path, broker: Broker, sensors: list[str]) -> None:
        self.sink_port = free_port()
        self.sink_proc, sink_path = start_sink(workdir, self.sink_port, "peer")
        self.sink = SinkLog(sink_path)
        self.state = workdir / "peer-state.sqlite3"
        config = workdir / "peer.yml"
        config.write_text(peer_config(broker, self.sink_port, sensors, self.state))
        self.log = workdir / "peer.log"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603
                [str(exe), "--config", str(config)], stdout=out, stderr=out
            )

    async def ready(self, sensors: int) -> None:
        deadline = time.monotonic() + 60
        while self.log.read_text(errors="replace").count("subscribed to") < sensors:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the peer did not start:\n{self.log.read_text()[-2000:]}")
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        # mqtt-alerts stops on KeyboardInterrupt
        if self.proc.poll() is None:
            self.proc.send_signal(2)
        stop(self.proc)
        stop(self.sink_proc)


async def mode(
    *,
    run: Run,
    peer: Peer,
    label: str,
    sensors: list[str],
    terminals: list[str],
    args: argparse.Namespace,
) -> None:
    per_second = 0.0 if label == "burst" else args.calm_rate
    n = len(sensors)
    print(
        f"\n== {label}: {n} alarms each, " + (f"{per_second:g}/s" if per_second else "all at once")
    )
    titles = {sensor_topic(s): f"{s}_critical_alert" for s in sensors}
    phones = {t: phone for phone, t in run.city.by_contact1.items()}
    with run.dispatchers(1, f"peer-{label}"):
        acks = AckCollector.start(run.broker, run.workdir, f"peer-{label}")
        since = time.time_ns()
        run.sink.watch(since, contact_phones(run, terminals))
        peer.sink.watch(since, set(titles.values()))
        start_at = time.time_ns() + 2_000_000_000
        ours_stream = sos_stream(f"ours-{label}", terminals, per_second)
        theirs_stream = sensor_stream(f"peer-{label}", sensors, per_second)
        if args.apart:
            ours = publish(run, f"ours-{label}", [ours_stream], start_at)
            ours.wait(timeout=600)
            await wait_for(run.sink.poll, n)
            theirs = publish(run, f"peer-{label}", [theirs_stream])
            theirs.wait(timeout=600)
            await wait_for(peer.sink.poll, n)
        else:
            ours = publish(run, f"ours-{label}", [ours_stream], start_at)
            theirs = publish(run, f"peer-{label}", [theirs_stream], start_at)
            ours.wait(timeout=600)
            theirs.wait(timeout=600)
            await wait_for(run.sink.poll, n)
            await wait_for(peer.sink.poll, n)
        acks.stop()
    topics = {
        t_topic: phones[device]
        for t_topic, device in zip(ours_stream["topics"], terminals, strict=True)
    }
    us = side(ours, run.sink, topics)
    them = side(theirs, peer.sink, titles)
    r = run.report
    for who, s in (("dispatcher", us), ("mqtt-alerts 0.4.7", them)):
        r.add(f"{label}", f"{who}: notified", f"{s.notified} / {n}")
        r.add(f"{label}", f"{who}: notifications/s", f"{s.per_s:,.1f}/s")
        r.add(
            f"{label}",
            f"{who}: latency p50 / p99",
            f"{ms(percentile(s.latencies, 50))} / {ms(percentile(s.latencies, 99))}",
        )
    if label == "burst":
        ratio = us.per_s / them.per_s if them.per_s else math.nan
        r.add(label, "dispatcher / peer, notifications/s", f"{ratio:.2f}", ">= 2", ratio >= 2)
    else:
        p50 = percentile(us.latencies, 50)
        r.add(label, "dispatcher press -> first request p50", ms(p50), "< 50 ms", p50 < 0.05)
    r.check(label, us.notified == n, f"dispatcher notified {us.notified} of {n}")
    r.check(label, them.notified == n, f"peer notified {them.notified} of {n}")


async def main(args: argparse.Namespace) -> bool:
    exe = peer_venv()
    n = args.alarms
    sensors = {m: [f"{m[0]}{i}" for i in range(n)] for m in args.modes}
    with (
        kept_or_temporary(args.keep, "bench-peer-") as workdir,
        own_mosquitto(workdir) as broker,
    ):
        sink_port = free_port()
        sink, sink_path = start_sink(workdir, sink_port, "dispatcher")
        peer = Peer(exe, workdir, broker, [s for names in sensors.values() for s in names])
        try:
            async with fresh_database("postgres") as url:
                city = await seed(url, n * len(args.modes))
                setup = Setup(
                    workdir,
                    url,
                    broker,
                    sink_port,
                    profile_dir=args.profile.resolve() if args.profile else None,
                    split=args.split,
                )
                run = Run(setup, city, SinkLog(sink_path), Report())
                all_sensors = [s for names in sensors.values() for s in names]
                await peer.ready(len(all_sensors))
                prime = publish(run, "prime", [sensor_stream("prime", all_sensors, 0)])
                prime.wait(timeout=120)
                primed = await wait_for(lambda: pending(peer.state), len(all_sensors))
                print(f"peer: {primed} of {len(all_sensors)} sensors primed (pending)")
                for m in args.modes:
                    await mode(
                        run=run,
                        peer=peer,
                        label=m,
                        sensors=sensors[m],
                        terminals=run.take_terminals(n),
                        args=args,
                    )
        finally:
            peer.stop()
            stop(sink)
    print("\n" + run.report.table())
    return not run.report.broken


def cli() -> None:
    ap = argparse.ArgumentParser(
        prog="python -m bench.peer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--alarms", type=int, default=300, help="alarms each, per mode")
    ap.add_argument("--modes", nargs="+", choices=["burst", "calm"], default=["burst", "calm"])
    ap.add_argument("--calm-rate", type=float, default=20.0, help="messages/s in calm mode")
    ap.add_argument("--apart", action="store_true", help="one after the other, not side by side")
    ap.add_argument(
        "--split",
        action="store_true",
        help="the dispatcher as two processes (ingest,web and engine,notifier), as a city runs it",
    )
    ap.add_argument("--profile", type=Path, metavar="DIR", help="py-spy the dispatcher into DIR")
    ap.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep the work folder (logs, acks, sinks) in DIR"
    )
    args = ap.parse_args()
    if not asyncio.run(main(args)):
        raise SystemExit("some checks failed (marked !!)")


if __name__ == "__main__":
    cli()
