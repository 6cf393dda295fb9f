"""`simulate`: simulated terminals (one, or a fleet), scenarios of daily care, generated cities.

    simulate terminal T-0001 --press sos        # prints the ack; exit 0, 1 rejected, 2 timeout
    simulate fleet --city demo --duration 60 --press-rate 30
    simulate city --residents 10000 --out var/city.yaml --seed 1
    simulate power-cut --city var/city.yaml --community c-0001   # one outage, not 300 alarms
    simulate week --user op1 --password op1-secret   # a week of daily care (demo clock)

Terminals log in with their account (docs/protocol.md): `--password` (`terminal`), or
`--credentials FILE` of `DEVICE_ID PASSWORD` lines as `dispatcher terminal credentials`
prints them (`fleet`); without either, the simulator runs that command itself, which
works where the service's database is (the demo). mqtts:// or `--tls` for TLS,
`--cafile` for a broker certificate signed by a CA of your own.

Exit codes of `terminal`: 0 accepted or duplicate, 1 rejected, 2 no ack in time,
3 broker unreachable, 4 login refused or no password. Of `fleet`: 0 when every terminal
connected and every press was answered, else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from devices.events import Ack, AckResult, EventType
from simulators import credentials
from simulators import dc09 as dc09_terminal
from simulators.aliyun import demo as aliyun_demo
from simulators.city import (
    DEMO_CITY,
    check_city,
    generate_city,
    load_city,
    terminal_ids,
    write_city,
)
from simulators.fleet import FleetPlan, fleet_ids, run_fleet
from simulators.power_cut import PowerCutPlan, run_power_cut
from simulators.terminal import LoginRefusedError, SimulatedTerminal, parse_broker_url
from simulators.twilio import demo as twilio_demo
from simulators.week import Operator, ServiceTime, plan_week, run_week

DEFAULT_BROKER = "mqtt://127.0.0.1:1884"  # the dispatcher's embedded broker
DEFAULT_PREFIX = "eldercare"
EXIT_REJECTED, EXIT_TIMEOUT, EXIT_UNREACHABLE, EXIT_LOGIN = 1, 2, 3, 4


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "terminal":
            return asyncio.run(_terminal(args))
        if args.command == "fleet":
            return asyncio.run(_fleet(args))
        if args.command == "twilio":
            return asyncio.run(twilio_demo.run(args))
        if args.command == "aliyun":
            return asyncio.run(aliyun_demo.run(args))
        if args.command == "power-cut":
            return asyncio.run(_power_cut(args))
        if args.command == "week":
            return asyncio.run(_week(args))
        if args.command == "dc09":
            return asyncio.run(dc09_terminal.run(args))
        return _city(args)
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simulate", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log connections")
    sub = parser.add_subparsers(dest="command", required=True)

    def connection(p: argparse.ArgumentParser) -> None:
        broker = os.environ.get("SIMULATE_BROKER", DEFAULT_BROKER)
        prefix = os.environ.get("SIMULATE_PREFIX", DEFAULT_PREFIX)
        p.add_argument("--broker", default=broker, type=_broker, help=f"default {broker}")
        p.add_argument("--prefix", default=prefix, help=f"MQTT topic prefix, default {prefix}")
        p.add_argument("--tls", action="store_true", help="TLS (implied by mqtts://)")
        p.add_argument("--cafile", help="the CA of the broker's certificate, for TLS")

    types = [t.value for t in EventType]
    twilio_demo.add_parser(sub)
    dc09_terminal.add_parser(sub)
    aliyun_demo.add_parser(sub)
    one = sub.add_parser("terminal", help="one terminal: press, heartbeat, listen")
    one.add_argument("device_id", help="the terminal's device_id, e.g. T-0001")
    connection(one)
    one.add_argument(
        "--password", help="of the terminal's account; default: dispatcher terminal credentials"
    )
    one.add_argument("--press", choices=types, metavar="TYPE", help=f"one of {', '.join(types)}")
    one.add_argument("--heartbeat", action="store_true", help="send one heartbeat")
    one.add_argument("--listen", action="store_true", help="stay and print commands received")
    one.add_argument("--listen-for", type=float, metavar="S", help="stop listening after S s")
    one.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for the ack")
    one.add_argument("--resend-every", type=float, default=2.0, help="repeat period, seconds")

    fleet = sub.add_parser("fleet", help="many terminals: heartbeats and random presses")
    ids = fleet.add_mutually_exclusive_group(required=True)
    ids.add_argument("--count", type=int, help="terminals T-000001.. (as `simulate city`)")
    ids.add_argument("--city", help="take terminals from a city file; `demo` for the demo city")
    connection(fleet)
    fleet.add_argument(
        "--credentials",
        type=Path,
        metavar="FILE",
        help="DEVICE_ID PASSWORD lines; default: dispatcher terminal credentials",
    )
    fleet.add_argument("--heartbeat-s", type=float, default=60.0, help="0: no heartbeats")
    fleet.add_argument("--press-rate", type=float, default=1.0, help="presses/terminal/hour")
    fleet.add_argument("--duration", type=float, default=60.0, help="seconds, then stop")
    fleet.add_argument("--type", choices=types, default="sos", help="event type pressed")
    fleet.add_argument("--press-timeout", type=float, default=30.0)
    fleet.add_argument("--max-connecting", type=int, default=50)
    fleet.add_argument("--max-in-flight", type=int, default=1000)
    fleet.add_argument("--seed", type=int)

    _scenarios(sub, connection)

    city = sub.add_parser("city", help="write a generated city in the format of the demo")
    city.add_argument("--residents", type=int, required=True)
    city.add_argument("--out", type=Path, required=True)
    city.add_argument("--seed", type=int, default=1)
    return parser


def _scenarios(sub: Any, connection: Callable[[argparse.ArgumentParser], None]) -> None:
    """`power-cut` and `week`: daily care as terminals and an operator live it."""
    cut = sub.add_parser("power-cut", help="the terminals of one community lose power together")
    cut.add_argument("--city", default="demo", help="a city file; `demo` for the demo city")
    cut.add_argument("--community", required=True, help="its id, e.g. kangqiao or c-0001")
    connection(cut)
    cut.add_argument("--credentials", type=Path, metavar="FILE", help="DEVICE_ID PASSWORD lines")
    cut.add_argument("--over", type=float, default=30.0, help="seconds over which power goes")
    cut.add_argument("--restore-after", type=float, default=180.0, help="seconds without power")
    cut.add_argument("--dead", type=float, default=0.25, help="share whose battery runs flat")
    cut.add_argument(
        "--heartbeat-s",
        type=float,
        default=0.0,
        help="0 (default): no heartbeats, so nothing is left behind when it ends",
    )
    cut.add_argument("--seed", type=int)

    week = sub.add_parser("week", help="an ordinary week of daily care, on the demo clock")
    week.add_argument("--city", default="demo", help="the city file the service loaded")
    connection(week)
    week.add_argument("--credentials", type=Path, metavar="FILE", help="DEVICE_ID PASSWORD lines")
    week.add_argument("--api", default="http://127.0.0.1:8080", help="the service's HTTP address")
    week.add_argument("--user", required=True, help="an operator's username")
    week.add_argument("--password", required=True)
    week.add_argument("--days", type=int, default=7)
    week.add_argument("--timezone", default="Asia/Shanghai", help="the service's city.timezone")
    week.add_argument("--seed", type=int, default=1)


def _broker(value: str) -> str:
    try:
        parse_broker_url(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _ack_line(ack: Ack) -> str:
    return f"{ack.result.value}: {ack.reason}" if ack.reason else ack.result.value


async def _terminal(args: argparse.Namespace) -> int:
    if not (args.press or args.heartbeat or args.listen):
        print("nothing to do: give --press TYPE, --heartbeat or --listen", file=sys.stderr)
        return EXIT_TIMEOUT
    password = args.password
    if password is None:
        try:
            password = (await credentials.from_dispatcher([args.device_id]))[args.device_id]
        except credentials.CredentialsError as exc:
            print(
                f"error: no password for {args.device_id}: {exc}; give --password", file=sys.stderr
            )
            return EXIT_LOGIN
    code = 0
    try:
        async with SimulatedTerminal(
            args.broker,
            args.prefix,
            args.device_id,
            password=password,
            tls=args.tls,
            cafile=args.cafile,
        ) as sim:
            if args.heartbeat:
                await sim.heartbeat()
                print("heartbeat sent", flush=True)
            if args.press:
                try:
                    ack = await sim.press(
                        EventType(args.press), timeout=args.timeout, resend_every=args.resend_every
                    )
                except TimeoutError:
                    print(
                        f"timeout: no ack within {args.timeout:g} s; is a dispatcher "
                        f"listening on {args.broker} with prefix '{args.prefix}'?",
                        file=sys.stderr,
                    )
                    code = EXIT_TIMEOUT
                else:
                    print(_ack_line(ack), flush=True)
                    ok = (AckResult.ACCEPTED, AckResult.DUPLICATE)
                    code = 0 if ack.result in ok else EXIT_REJECTED
            if args.listen:
                await _listen(sim, args.listen_for)
    except LoginRefusedError as exc:
        print(f"error: {exc}; is the password right?", file=sys.stderr)
        return EXIT_LOGIN
    except ConnectionError as exc:
        print(f"error: {exc}; is the dispatcher (or broker) running?", file=sys.stderr)
        return EXIT_UNREACHABLE
    return code


async def _listen(sim: SimulatedTerminal, seconds: float | None) -> None:
    print(f"listening for commands to {sim.device_id} (Ctrl-C to stop)", file=sys.stderr)
    try:
        async with asyncio.timeout(seconds):
            while True:
                command = await sim.next_command(timeout=None)
                alarm = f" alarm={command.alarm_id}" if command.alarm_id else ""
                text = f" text={command.text}" if command.text else ""
                print(f"{command.type.value}{alarm}{text}", flush=True)
    except TimeoutError:
        return


async def _fleet(args: argparse.Namespace) -> int:
    if args.city:
        path = DEMO_CITY if args.city == "demo" else Path(args.city)
        device_ids = terminal_ids(load_city(path))
    else:
        device_ids = fleet_ids(args.count)
    try:
        if args.credentials is not None:
            passwords = credentials.read_file(args.credentials)
        else:
            passwords = await credentials.from_dispatcher(device_ids)
    except credentials.CredentialsError as exc:
        print(f"error: no passwords: {exc}; give --credentials FILE", file=sys.stderr)
        return 1
    plan = FleetPlan(
        broker=args.broker,
        prefix=args.prefix,
        device_ids=device_ids,
        duration_s=args.duration,
        heartbeat_s=args.heartbeat_s or None,
        press_rate=args.press_rate,
        event_type=EventType(args.type),
        press_timeout=args.press_timeout,
        max_connecting=args.max_connecting,
        max_in_flight=args.max_in_flight,
        seed=args.seed,
        passwords=passwords,
        tls=args.tls,
        cafile=args.cafile,
    )
    print(f"fleet of {len(device_ids)} terminals on {args.broker} for {args.duration:g} s")
    report = await run_fleet(plan)
    print(report.summary())
    return 0 if report.ok else 1


def _city(args: argparse.Namespace) -> int:
    data = generate_city(args.residents, args.seed)
    problems = check_city(data)
    if problems:  # a generator bug: say so rather than write a file that will not load
        print("\n".join(problems[:20]), file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_city(data, args.out)
    communities = len(data["communities"])
    print(f"wrote {args.residents} residents in {communities} communities to {args.out}")
    return 0


def _city_file(name: str) -> Path:
    return DEMO_CITY if name == "demo" else Path(name)


async def _passwords(device_ids: list[str], file: Path | None) -> dict[str, str]:
    if file is not None:
        return credentials.read_file(file)
    return await credentials.from_dispatcher(device_ids)


async def _power_cut(args: argparse.Namespace) -> int:
    city = load_city(_city_file(args.city))
    device_ids = [
        str(r["terminal"])
        for r in city.get("residents", [])
        if r.get("community") == args.community and r.get("terminal")
    ]
    if not device_ids:
        print(f"error: no terminal in community {args.community!r}", file=sys.stderr)
        return 1
    try:
        passwords = await _passwords(device_ids, args.credentials)
    except credentials.CredentialsError as exc:
        print(f"error: no passwords: {exc}; give --credentials FILE", file=sys.stderr)
        return 1
    plan = PowerCutPlan(
        broker=args.broker,
        prefix=args.prefix,
        device_ids=device_ids,
        over_s=args.over,
        restore_after_s=args.restore_after,
        dead=args.dead,
        heartbeat_s=args.heartbeat_s,
        seed=args.seed,
        passwords=passwords,
        tls=args.tls,
        cafile=args.cafile,
    )
    report = await run_power_cut(plan, say=lambda line: print(line, flush=True))
    print(report.summary())
    return 0 if report.ok else 1


async def _week(args: argparse.Namespace) -> int:
    city = load_city(_city_file(args.city))
    device_ids = terminal_ids(city)
    try:
        passwords = await _passwords(device_ids, args.credentials)
    except credentials.CredentialsError as exc:
        print(f"error: no passwords: {exc}; give --credentials FILE", file=sys.stderr)
        return 1
    tz = ZoneInfo(args.timezone)
    try:
        async with Operator.logged_in(args.api, args.user, args.password) as operator:
            clock = await _follow(operator)
            now = clock.now()
            steps = plan_week(city, start=now, days=args.days, tz=tz, seed=args.seed)
            print(f"{len(steps)} steps over {args.days} days; service time {now.astimezone(tz)}")
            async with contextlib.AsyncExitStack() as stack:
                terminals = {
                    d: await stack.enter_async_context(
                        SimulatedTerminal(
                            args.broker,
                            args.prefix,
                            d,
                            password=passwords.get(d),
                            tls=args.tls,
                            cafile=args.cafile,
                        )
                    )
                    for d in device_ids
                }
                report = await run_week(
                    steps,
                    operator=operator,
                    terminals=terminals,
                    clock=clock,
                    say=lambda line: print(line, flush=True),
                )
    except (OSError, PermissionError, aiohttp.ClientError) as exc:
        print(f"error: {exc}; is the service running at {args.api}?", file=sys.stderr)
        return 3
    print(report.summary())
    return 0 if not report.failed else 1


async def _follow(operator: Operator) -> ServiceTime:
    """The service's clock and its pace, from two readings a second apart."""
    first, started = await operator.now(), time.monotonic()
    await asyncio.sleep(1.0)
    second, elapsed = await operator.now(), time.monotonic() - started
    speed = max((second - first).total_seconds() / elapsed, 0.001)
    speed = float(f"{speed:.2g}")  # 598.7 -> 600: the configured pace
    print(f"the service's clock runs {speed:g}x")
    return ServiceTime(second, speed)
