"""The scenarios of `bench.city`, one function each; every one prints its figures with
the issue's target and adds them to the run's report. Each starts its own dispatcher
process(es) and stops them at the end; between scenarios every alarm is resolved.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker

from bench import dispatchers, engine_bench
from bench.broker import PREFIX
from bench.city_run import (
    Publisher,
    Run,
    device_of,
    event_line,
    flood,
    heartbeat_line,
    heartbeat_stream,
    publish,
    sos_stream,
)
from bench.observe import AckCollector, Yardstick, ms, percentile, rate, read_sent, sent_ns
from devices import protocol_v1 as p
from dispatcher.store.db import create_engine, migrate

HEARTBEATS_METRIC = "dispatcher_heartbeats_total"
# a phase ends when everything expected has come, or nothing more came for this long
IDLE_S = 30.0


async def wait_for(progress: Callable[[], int], target: int, idle_s: float = IDLE_S) -> int:
    """Poll until `progress()` reaches `target` or stops moving for `idle_s`."""
    seen, moved = -1, time.monotonic()
    while True:
        now = progress()
        if now >= target:
            return now
        if now != seen:
            seen, moved = now, time.monotonic()
        elif time.monotonic() - moved > idle_s:
            return now
        await asyncio.sleep(0.1)


def p50_p99(values: list[float]) -> str:
    return f"{ms(percentile(values, 50))} / {ms(percentile(values, 99))}"


def header(title: str) -> None:
    print(f"\n== {title}", flush=True)


# ---- ingest: events and heartbeats as fast as the C clients send them --------------------


async def ingest(run: Run, args: argparse.Namespace) -> None:
    name = "ingest"
    n, terminals = args.events, run.take_terminals(args.ingest_terminals)
    header(
        f"{name}: {n} events (sos, service, test in turn) from {len(terminals)} terminals, "
        f"{len(terminals)} mosquitto_pub -l at QoS 1, as fast as they go"
    )
    tag = uuid.uuid4().hex[:6]
    kinds = ("sos", "service", "test")
    lines: dict[str, list[bytes]] = {p.event_topic(PREFIX, t): [] for t in terminals}
    for i in range(n):
        lines[p.event_topic(PREFIX, terminals[i % len(terminals)])].append(
            event_line(tag, i, kinds[i % 3])
        )
    with run.dispatchers(1, name):
        acks = AckCollector.start(run.broker, run.workdir, name)
        yard = Yardstick.start(run.broker, run.workdir, f"{PREFIX}/terminals/+/event", n, name)
        started = flood(run.broker, lines, qos=1)
        await wait_for(acks.poll, n)
        acks.stop()
        bare, c_sub = yard.finish(timeout=IDLE_S)
    answered = list(acks.acks.values())
    accepted = sum(a.result == "accepted" for a in answered)
    last = max((a.at_ns for a in answered), default=0)
    ours = rate(len(answered), started, last)
    theirs = rate(bare.get("received", 0), started, bare.get("last_ns", 0))
    c_rate = rate(c_sub["received"], started, c_sub["last_ns"])
    r = run.report
    r.add(name, "events acked/s, first publish -> last ack", f"{ours:,.0f}/s")
    r.add(name, "bare Python subscriber, same events", f"{theirs:,.0f}/s")
    r.add(name, "mosquitto_sub, same events", f"{c_rate:,.0f}/s")
    ratio = ours / theirs if theirs else math.nan
    r.add(name, "event ingest / bare Python", f"{ratio:.2f}", ">= 0.50", ratio >= 0.5)
    # the lines were written before the clock started: only the burst's drain means much
    drained = [(a.at_ns - max(started, sent_ns(a.event_id))) / 1e9 for a in answered]
    r.add(name, "50% / 99% of the burst acked after", p50_p99(drained))
    run.cpu_row(name, started, last, len(answered), "event")
    r.check(name, accepted == n, f"{accepted} of {n} events acked `accepted`")
    r.check(name, acks.repeated == 0, f"{acks.repeated} acks repeated")
    r.check(name, bare.get("received") == n, f"bare subscriber got {bare.get('received')} of {n}")


async def heartbeats(run: Run, args: argparse.Namespace) -> None:
    name = "heartbeats"
    n, terminals = args.heartbeats, run.take_terminals(args.ingest_terminals)
    header(
        f"{name}: {n} heartbeats from {len(terminals)} terminals, mosquitto_pub -l at "
        f"QoS {args.hb_qos}, as fast as they go; processed = the dispatcher's "
        f"{HEARTBEATS_METRIC} on /metrics"
    )
    per = -(-n // len(terminals))
    lines = {p.heartbeat_topic(PREFIX, t): [heartbeat_line()] * per for t in terminals}
    n = per * len(terminals)
    with run.dispatchers(1, name) as (d, *_):
        yard = Yardstick.start(run.broker, run.workdir, f"{PREFIX}/terminals/+/heartbeat", n, name)
        base = dispatchers.metrics(d).get(HEARTBEATS_METRIC, 0.0)
        started_box: list[int] = []
        sender = threading.Thread(
            target=lambda: started_box.append(flood(run.broker, lines, qos=args.hb_qos))
        )
        sender.start()
        processed_at = 0

        def processed() -> int:
            nonlocal processed_at
            count = int(dispatchers.metrics(d).get(HEARTBEATS_METRIC, 0.0) - base)
            processed_at = time.time_ns()
            return count

        done = await wait_for(processed, n, idle_s=20)
        finished_at = processed_at
        sender.join()
        await asyncio.sleep(1)
        settled = processed()  # more than were sent: something processed twice
        bare, c_sub = yard.finish(timeout=IDLE_S)
    started = started_box[0]
    ours = rate(done, started, finished_at)
    theirs = rate(bare.get("received", 0), started, bare.get("last_ns", 0))
    c_rate = rate(c_sub["received"], started, c_sub["last_ns"])
    r = run.report
    r.add(name, "heartbeats processed/s (metric, polled 20/s)", f"{ours:,.0f}/s")
    r.add(name, "bare Python subscriber, same heartbeats", f"{theirs:,.0f}/s")
    r.add(name, "mosquitto_sub, same heartbeats", f"{c_rate:,.0f}/s")
    ratio = ours / theirs if theirs else math.nan
    r.add(name, "heartbeat ingest / bare Python", f"{ratio:.2f}", ">= 0.80", ratio >= 0.8)
    run.cpu_row(name, started, finished_at, done, "heartbeat")
    if args.hb_qos == 1:
        r.check(name, settled == n, f"{settled} of {n} heartbeats processed")


# ---- presses at a steady rate, each from its own terminal, each opening an alarm --------


@dataclass(frozen=True)
class PressFigures:
    presses: int
    accepted: int
    # acks after the first for one press: the same press processed twice
    repeated: int
    texted: int
    ack_latencies: list[float]
    sms_latencies: list[float]
    sms_per_s: float
    acks_per_s: float
    alarms: int
    publisher_lag_p99: float
    # the load's window: the first press sent, the last ack or first SMS seen
    first_ns: int = 0
    last_ns: int = 0


async def press_figures(
    run: Run, pub: Publisher, acks: AckCollector, since_ns: int, lag_p99: float
) -> PressFigures:
    """Each press (the publisher's log) against its ack and its first SMS (to contact 1
    of the resident, as the sink saw it since `since_ns`), and the alarms opened."""
    phones = {t: phone for phone, t in run.city.by_contact1.items()}
    sent = read_sent(pub.sent_log)
    first_sms = run.sink.first
    ack_lat, sms_lat, acked_at, texted_at = [], [], [], []
    accepted = 0
    for s in sent:
        device = device_of(s.topic)
        ack = acks.acks.get((device, s.message_id))
        if ack is not None:
            ack_lat.append((ack.at_ns - s.at_ns) / 1e9)
            acked_at.append(ack.at_ns)
            accepted += ack.result == "accepted"
        texted = first_sms.get(phones[device])
        if texted is not None:
            sms_lat.append((texted - s.at_ns) / 1e9)
            texted_at.append(texted)
    first_sent = min((s.at_ns for s in sent), default=0)
    return PressFigures(
        presses=len(sent),
        accepted=accepted,
        repeated=acks.repeated,
        texted=len(sms_lat),
        ack_latencies=ack_lat,
        sms_latencies=sms_lat,
        sms_per_s=rate(len(texted_at), first_sent, max(texted_at, default=0)),
        acks_per_s=rate(len(acked_at), first_sent, max(acked_at, default=0)),
        alarms=await run.emergencies_since(since_ns),
        publisher_lag_p99=lag_p99,
        first_ns=first_sent,
        last_ns=max([*acked_at, *texted_at], default=0),
    )


def contact_phones(run: Run, terminals: list[str]) -> set[str]:
    phones = {t: phone for phone, t in run.city.by_contact1.items()}
    return {phones[t] for t in terminals}


async def presses(
    run: Run, name: str, terminals: list[str], per_second: float, processes: int = 1
) -> PressFigures:
    """One sos from each terminal at `per_second` (0: as fast as the publisher goes);
    waits for every ack and every first SMS."""
    n = len(terminals)
    with run.dispatchers(processes, name):
        acks = AckCollector.start(run.broker, run.workdir, name)
        since = time.time_ns()
        run.sink.watch(since, contact_phones(run, terminals))
        pub = publish(run, name, [sos_stream(name, terminals, per_second)])
        published = pub.wait(timeout=(n / per_second if per_second else 0) + 300)
        await wait_for(acks.poll, n)
        await wait_for(run.sink.poll, n)
        acks.stop()
    return await press_figures(run, pub, acks, since, published["streams"][0]["lag_p99_s"])


def check_presses(run: Run, name: str, f: PressFigures) -> None:
    r = run.report
    r.check(name, f.accepted == f.presses, f"{f.accepted} of {f.presses} presses acked `accepted`")
    r.check(name, f.repeated == 0, f"{f.repeated} presses answered more than once")
    r.check(name, f.alarms == f.presses, f"{f.alarms} alarms opened for {f.presses} presses")
    r.check(name, f.texted == f.presses, f"{f.texted} of {f.presses} presses texted contact 1")
    if f.publisher_lag_p99 > 0.05:
        print(f"    (the publisher ran {ms(f.publisher_lag_p99)} behind its schedule at p99)")


async def calm(run: Run, args: argparse.Namespace) -> None:
    name = "calm"
    n = int(args.calm_rate * args.calm_s)
    header(f"{name}: {args.calm_rate:g} sos/s for {args.calm_s:g} s, each from its own terminal")
    f = await presses(run, name, run.take_terminals(n), args.calm_rate)
    r = run.report
    r.add(name, "press -> ack p50 / p99", p50_p99(f.ack_latencies))
    p50 = percentile(f.sms_latencies, 50)
    r.add(name, "press -> first Twilio request p50", ms(p50), "< 50 ms", p50 < 0.05)
    r.add(name, "press -> first Twilio request p99", ms(percentile(f.sms_latencies, 99)))
    run.cpu_row(name, f.first_ns, f.last_ns, f.presses, "press")
    check_presses(run, name, f)


async def steady(run: Run, args: argparse.Namespace) -> None:
    name = "steady"
    n = int(args.steady_rate * args.steady_s)
    header(
        f"{name}: {args.steady_rate:g} sos/s for {args.steady_s:g} s, each from its own "
        "terminal, engine and notifier running"
    )
    f = await presses(run, name, run.take_terminals(n), args.steady_rate)
    r = run.report
    r.add(name, "press -> ack p50", ms(percentile(f.ack_latencies, 50)))
    p99 = percentile(f.ack_latencies, 99)
    r.add(name, "press -> ack p99", ms(p99), "< 100 ms", p99 < 0.1)
    r.add(name, "press -> first Twilio request p50", ms(percentile(f.sms_latencies, 50)))
    p99 = percentile(f.sms_latencies, 99)
    r.add(name, "press -> first Twilio request p99", ms(p99), "< 1 s", p99 < 1.0)
    r.add(
        name,
        "SMS requests/s end to end",
        f"{f.sms_per_s:,.0f}/s",
        f"{args.steady_rate:g}/s offered",
    )
    run.cpu_row(name, f.first_ns, f.last_ns, f.presses, "press")
    check_presses(run, name, f)


# ---- the engine alone ----------------------------------------------------------------


async def engine(run: Run, args: argparse.Namespace) -> None:
    name = "engine"
    n, per_second = args.engine_alarms, args.engine_rate
    header(
        f"{name}: bench.engine_bench in this process on a database of its own: {n} alarms "
        f"due at once, then {n} due at {per_second:g}/s"
    )
    async with engine_bench.fresh_database("postgres") as url:
        db = create_engine(url)
        try:
            await migrate(db)
            await engine_bench.seed(async_sessionmaker(db, expire_on_commit=False), n)
            rates = await engine_bench.throughput(db, n)
            lags = await engine_bench.lag(db, n, n / per_second)
        finally:
            await db.dispose()
    r = run.report
    steps = min(rates)
    r.add(
        name,
        "steps/s, all due at once (worst of 2 steps)",
        f"{steps:,.0f}/s",
        ">= 1,000/s",
        steps >= 1000,
    )
    p99 = percentile(lags.committed, 99)
    r.add(name, f"due -> committed p99 at {per_second:g}/s", ms(p99), "< 1 s", p99 < 1.0)


# ---- several processes on one broker and one database -----------------------------------


async def scale(run: Run, args: argparse.Namespace) -> None:
    n = args.scale_presses
    header(
        f"scale: {n} sos from distinct terminals as fast as one publisher sends them, on "
        f"{', '.join(map(str, args.processes))} dispatcher processes (shared subscription)"
    )
    for count in args.processes:
        name = f"scale-{count}"
        print(f"  {count} process(es)", flush=True)
        f = await presses(run, name, run.take_terminals(n), 0, processes=count)
        r = run.report
        r.add(name, "presses acked/s", f"{f.acks_per_s:,.0f}/s")
        r.add(name, "press -> ack p50 / p99", p50_p99(f.ack_latencies))
        r.add(name, "press -> first SMS p50 / p99", p50_p99(f.sms_latencies))
        r.add(name, "SMS requests/s end to end", f"{f.sms_per_s:,.0f}/s")
        check_presses(run, name, f)
        await run.quiesce()


# ---- a city: 100,000 terminals heartbeating, and a burst of presses ------------------------


def _mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else math.nan


async def city(run: Run, args: argparse.Namespace) -> None:
    name = "city"
    beating = run.city.terminals[: args.city_terminals]
    burst_n = int(args.burst_rate * args.burst_s)
    burst_terminals = run.take_terminals(burst_n)
    header(
        f"{name}: {len(beating):,} terminals heartbeating every {args.city_interval:g} s "
        f"(QoS {args.hb_qos}, {args.hb_publishers} publisher processes) for {args.city_s:g} s, "
        f"and {args.burst_rate:g} sos/s for {args.burst_s:g} s from {args.burst_at:g} s; "
        f"RSS of the dispatcher every {args.rss_every:g} s"
    )
    shares = [beating[i :: args.hb_publishers] for i in range(args.hb_publishers)]
    with run.dispatchers(1, name) as (d, *_):
        acks = AckCollector.start(run.broker, run.workdir, name)
        since = time.time_ns()
        run.sink.watch(since, contact_phones(run, burst_terminals))
        base = dispatchers.metrics(d).get(HEARTBEATS_METRIC, 0.0)
        # every publisher process starts its clock at the same instant
        start_at = time.time_ns() + 3_000_000_000
        beats = [
            publish(
                run,
                f"{name}-hb{i}",
                [heartbeat_stream(f"hb{i}", share, args.city_interval, args.city_s, args.hb_qos)],
                start_at,
            )
            for i, share in enumerate(shares)
        ]
        sos = sos_stream(name, burst_terminals, args.burst_rate, offset_s=args.burst_at)
        burst = publish(run, f"{name}-sos", [sos], start_at)
        samples: list[tuple[float, int]] = []
        while any(pub.proc.poll() is None for pub in [*beats, burst]):
            samples.append(((time.time_ns() - start_at) / 1e9, dispatchers.rss_bytes(d.pid)))
            acks.poll()
            run.sink.poll()
            await asyncio.sleep(args.rss_every)
        reports = [pub.wait(timeout=60) for pub in [*beats, burst]]
        await wait_for(acks.poll, burst_n)
        await wait_for(run.sink.poll, burst_n)
        processed = int(dispatchers.metrics(d).get(HEARTBEATS_METRIC, 0.0) - base)
        samples.append(((time.time_ns() - start_at) / 1e9, dispatchers.rss_bytes(d.pid)))
        acks.stop()
    lag = max(rep["streams"][0]["lag_p99_s"] for rep in reports)
    f = await press_figures(run, burst, acks, since, lag)
    r = run.report
    sent_beats = sum(rep["streams"][0]["sent"] for rep in reports[:-1])
    r.add(name, "heartbeats processed / sent", f"{processed:,} / {sent_beats:,}")
    r.add(
        name,
        "sos acked `accepted` / pressed",
        f"{f.accepted:,} / {burst_n:,}",
        "all",
        f.accepted == f.presses == burst_n,
    )
    r.add(
        name, "alarms opened / pressed", f"{f.alarms:,} / {burst_n:,}", "all", f.alarms == burst_n
    )
    r.add(name, "press -> ack p50 / p99 in the burst", p50_p99(f.ack_latencies))
    r.add(name, "press -> first SMS p50 / p99 in the burst", p50_p99(f.sms_latencies))
    # the heartbeats go on meanwhile, as in a city: their share is in the figures
    run.cpu_row(name, f.first_ns, f.last_ns, f.presses, "press of the burst")
    memory(run, args, samples)
    check_presses(run, name, f)
    if args.hb_qos == 1:
        r.check(name, processed == sent_beats, f"{processed} of {sent_beats} heartbeats processed")


def memory(run: Run, args: argparse.Namespace, samples: list[tuple[float, int]]) -> None:
    """RSS before the burst, at its peak, at the end; flat = the last tenth of the run
    within 5% of the RSS at 50-60% of it, when the burst is long drained."""
    duration, mib = args.city_s, 1 << 20
    before = [rss for t, rss in samples if 0 <= t < args.burst_at]
    middle = [rss for t, rss in samples if duration * 0.5 <= t < duration * 0.6]
    end = [rss for t, rss in samples if t >= duration * 0.9]
    peak = max((rss for _, rss in samples), default=0)
    run.report.add(
        "city",
        "RSS before burst / peak / end (MiB)",
        f"{_mean(before) / mib:.0f} / {peak / mib:.0f} / {_mean(end) / mib:.0f}",
    )
    growth = _mean(end) / _mean(middle) - 1 if middle and end else math.nan
    run.report.add(
        "city",
        "RSS growth, 50-60% of the run -> last 10%",
        f"{growth:+.1%}",
        "< +5% (flat)",
        growth < 0.05,
    )
    if args.burst_at + args.burst_s > duration * 0.5:
        print("    (the burst ends after half the run: the growth figure includes it)")
