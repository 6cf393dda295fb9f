"""A city's load on one machine, measured from outside (issue 12): `python -m bench.city`.

    .venv/bin/python -m bench.city --quick                 # a small smoke run, ~6 min
    .venv/bin/python -m bench.city                         # the issue's sizes, ~40 min
    .venv/bin/python -m bench.city --scenarios ingest steady --profile var/profiles

It starts its own Mosquitto (our deployed configuration on a free port, with accounts:
`bench.broker`), creates a PostgreSQL database `bench_<hex>` on the machine's server
(dropped at the end), loads a generated city, starts an HTTP sink that answers like
Twilio (`bench.sink`), and then runs the scenarios below, each with its own
`dispatcher run` process(es), configured by `DISPATCHER_...` variables only: the
engine and the notifier run as in production, SMS go to the sink. The load comes from
other processes: Mosquitto's C clients (`mosquitto_pub -l`, one per topic) where a few
terminals send much, `bench.publisher` (paho, paced) where each message has its own
topic. Acks are stamped on arrival by `mosquitto_sub`; SMS by the sink. Every figure
is printed with the issue's target and whether it was met; a failed check of
behaviour (a press not acked, an alarm not opened) is marked `!!` and makes the exit
status non-zero. Missing a target does not: these are measurements.

Scenarios (in this order; `--scenarios` picks some):
  ingest      events from 20 terminals as fast as the C clients send them; beside it a
              bare Python subscriber and mosquitto_sub on the same topics, same run
  heartbeats  the same for heartbeats; processed counted on the dispatcher's /metrics
  calm        20 sos/s from distinct terminals: press -> ack, press -> first SMS request
  steady      200 sos/s the same way
  engine      bench.engine_bench (in this process): steps/s, and lag at 1,000 steps/s
  scale       the same presses on 1, 2, 3 processes sharing a subscription
  city        100,000 terminals heartbeating every 60 s, a burst of 1,000 sos/s for 30 s,
              RSS of the dispatcher over 10 minutes
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import city_scenarios as s
from bench.broker import own_mosquitto, stop
from bench.city_run import Run, seed
from bench.dispatchers import Setup
from bench.engine_bench import fresh_database
from bench.observe import SinkLog, kept_or_temporary, start_sink
from bench.profile_summary import summarise
from harness.ports import free_port

Scenario = Callable[[Run, argparse.Namespace], Awaitable[None]]
SCENARIOS: dict[str, Scenario] = {
    "ingest": s.ingest,
    "heartbeats": s.heartbeats,
    "calm": s.calm,
    "steady": s.steady,
    "engine": s.engine,
    "scale": s.scale,
    # last: its terminals stop heartbeating when it ends, and would go offline (device
    # alarms) under any scenario after it
    "city": s.city,
}

# (full, --quick)
SIZES: dict[str, tuple[object, object]] = {
    "residents": (100_000, 2_000),
    "ingest_terminals": (20, 20),
    "events": (20_000, 2_000),
    "heartbeats": (50_000, 5_000),
    "hb_qos": (1, 1),
    "calm_rate": (20.0, 20.0),
    "calm_s": (30.0, 3.0),
    "steady_rate": (200.0, 200.0),
    "steady_s": (30.0, 3.0),
    "engine_alarms": (5_000, 500),
    "engine_rate": (1000.0, 1000.0),
    "processes": ([1, 2, 3], [1, 2]),
    "scale_presses": (6_000, 500),
    "city_terminals": (100_000, 2_000),
    "city_interval": (60.0, 10.0),
    "city_s": (600.0, 40.0),
    "burst_rate": (1000.0, 100.0),
    "burst_s": (30.0, 5.0),
    "burst_at": (120.0, 5.0),
    "hb_publishers": (2, 1),
    "rss_every": (5.0, 2.0),
}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m bench.city",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    ap.add_argument(
        "--split",
        action="store_true",
        help="each dispatcher as two processes: ingest,web and engine,notifier (NOTIFY)",
    )
    ap.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    ap.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy record every dispatcher process into DIR (collapsed stacks)",
    )
    ap.add_argument("--profile-rate", type=int, default=100, help="py-spy samples per second")
    ap.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the work folder (logs of every process, acks, sink) in DIR",
    )
    sizes = ap.add_argument_group("sizes (defaults: the issue's; --quick: small)")
    for key, (full, quick) in SIZES.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(full, list):
            sizes.add_argument(flag, type=int, nargs="+", help=f"{full} (quick {quick})")
        else:
            sizes.add_argument(flag, type=type(full), help=f"{full} (quick {quick})")
    return ap


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    args = parser().parse_args(argv)
    for key, (full, quick) in SIZES.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    needed = max(
        args.ingest_terminals,
        int(args.steady_rate * args.steady_s),
        int(args.burst_rate * args.burst_s),
        args.scale_presses,
        args.city_terminals,
    )
    if args.residents < needed:
        parser().error(f"--residents must be at least {needed} for these sizes")
    return args


async def main(args: argparse.Namespace) -> bool:
    with kept_or_temporary(args.keep, "bench-city-") as folder, own_mosquitto(folder) as broker:
        sink_port = free_port()
        sink, sink_log = start_sink(folder, sink_port, "run")
        try:
            async with fresh_database("postgres") as url:
                started = time.perf_counter()
                city = await seed(url, args.residents)
                print(
                    f"city of {len(city.terminals):,} residents loaded in "
                    f"{time.perf_counter() - started:.0f} s; Mosquitto on {broker.port}, "
                    f"sink on {sink_port}, work folder {folder}"
                )
                setup = Setup(
                    folder,
                    url,
                    broker,
                    sink_port,
                    profile_dir=args.profile.resolve() if args.profile else None,
                    profile_rate=args.profile_rate,
                    split=args.split,
                )
                run = Run(setup, city, SinkLog(sink_log))
                settled = await run.settle()
                print(f"check-in deadlines of the new city set in {settled:.0f} s")
                with run.cpu:
                    for name in [n for n in SCENARIOS if n in args.scenarios]:
                        try:
                            await SCENARIOS[name](run, args)
                        except Exception as exc:
                            traceback.print_exc()
                            run.report.broken.append(f"{name}: {type(exc).__name__}: {exc}")
                        await run.quiesce()
        finally:
            stop(sink)
    print("\n" + run.report.table())
    if args.profile:
        for path in sorted(args.profile.glob("*.txt")):
            print(f"\nprofile {path}:")
            print(summarise(path, top=15))
    return not run.report.broken


def cli() -> None:
    args = parse()
    logging.basicConfig(level=logging.WARNING)
    if not asyncio.run(main(args)):
        raise SystemExit("some checks failed (marked !!)")


if __name__ == "__main__":
    cli()
