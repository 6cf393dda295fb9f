"""The daily report over one year of a 10,000-resident city, on PostgreSQL.

It makes a fresh database (`bench_<hex>` on 127.0.0.1:5432, dropped after unless
`--keep`), migrates it, generates the city and a year of alarms straight into it (COPY,
in batches), then times `store.reports.daily_report` (what `dispatcher report` and
`GET /api/reports/daily` run) over the year, a month and a week, for all communities and
for one. See bench/README.md for the figures.

    .venv/bin/python -m bench.report_bench
    .venv/bin/python -m bench.report_bench --residents 10000 --days 365 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from dispatcher.config import CityConfig
from dispatcher.rules.reports import day_start
from dispatcher.store.db import create_engine, migrate, session_factory
from dispatcher.views import reports

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
PG_DSN = "postgresql://postgres@127.0.0.1:5432/{name}"
PER_COMMUNITY = 200
# a year per resident: emergencies, service requests, missed check-ins, offline spells,
# other device alarms (low battery, power lost); about 27 alarms a resident a year
PER_YEAR = {"emergency": 4, "service": 12, "checkin": 6, "offline": 3, "device": 2}
OUTAGES_PER_COMMUNITY_MONTH = 1
OUTAGE_MEMBERS = 30
_ALARM_COLUMNS = (
    "device_id",
    "resident_id",
    "community_id",
    "kind",
    "type",
    "status",
    "priority",
    "created_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
    "outcome",
    "escalation_started",
    "step",
    "round",
    "escalation_exhausted",
    "arrived_at",
    "arrived_by",
    "provider_id",
    "service_state",
)


@contextlib.asynccontextmanager
async def fresh_database(*, keep: bool) -> AsyncIterator[str]:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(PG_URL.format(name="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield name
    finally:
        if keep:
            print(f"kept database {name}")
        else:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@dataclass(frozen=True)
class City:
    communities: list[str]
    residents: list[tuple[str, str, str]]  # resident, terminal, community


def _city(residents: int) -> City:
    count = max(1, residents // PER_COMMUNITY)
    communities = [f"c-{i:03d}" for i in range(count)]
    return City(
        communities,
        [(f"r-{i:05d}", f"T-{i:05d}", communities[i % count]) for i in range(residents)],
    )


def _alarms(
    city: City, first: datetime, days: int, pick: random.Random
) -> Iterator[tuple[Any, ...]]:
    """One row per alarm, as the service would have left it: taken in 10-240 s (a few
    never), reached in 10-60 minutes, closed, services mostly done."""
    span = days * 86400
    for resident, terminal, community in city.residents:
        for kind, per_year in PER_YEAR.items():
            for _ in range(_poisson(pick, per_year * days / 365)):
                opened = first + timedelta(seconds=pick.uniform(0, span))
                yield _alarm(pick, kind, opened, (resident, terminal, community))


def _alarm(
    pick: random.Random, kind: str, opened: datetime, who: tuple[str, str, str]
) -> tuple[Any, ...]:
    resident, terminal, community = who
    acked = arrived = arrived_by = provider = state = None
    by = "op1"
    if kind == "emergency":
        type_, priority, outcome = "sos", 1, pick.choice(["help_given"] * 6 + ["false_alarm"])
        if pick.random() < 0.99:
            acked = opened + timedelta(seconds=pick.lognormvariate(3.4, 0.6))
        if outcome == "help_given":
            arrived = opened + timedelta(minutes=pick.uniform(8, 60))
            arrived_by = "w-1"
        closed = opened + timedelta(minutes=pick.uniform(20, 120))
    elif kind == "service":
        type_, priority, by = "service", 3, "provider:p-1"
        done = pick.random() < 0.9
        outcome, state, provider = (
            ("service_done", "done", "p-1") if done else ("other", None, None)
        )
        acked = opened + timedelta(seconds=pick.uniform(20, 600))
        closed = opened + timedelta(hours=pick.uniform(0.5, 6))
    elif kind == "checkin":
        type_, priority, outcome, by = "missed_checkin", 2, "resident_checked_in", "resident"
        closed = opened + timedelta(minutes=pick.uniform(5, 240))
    elif kind == "offline":
        kind, type_, priority, outcome, by = "device", "offline", 3, "device_recovered", "terminal"
        closed = opened + timedelta(minutes=pick.expovariate(1 / 90))
    else:
        type_, priority, outcome = pick.choice(["low_battery", "power_lost"]), 4, "help_given"
        closed = opened + timedelta(hours=pick.uniform(1, 24))
    return (
        terminal,
        resident,
        community,
        kind,
        type_,
        "resolved",
        priority,
        opened,
        acked,
        "op1" if acked else None,
        closed,
        by,
        outcome,
        True,
        0,
        0,
        False,
        arrived,
        arrived_by,
        provider,
        state,
    )


def _poisson(pick: random.Random, mean: float) -> int:
    count, limit, product = 0, pow(2.718281828459045, -mean), pick.random()
    while product > limit:
        count += 1
        product *= pick.random()
    return count


async def generate(name: str, residents: int, days: int, first: datetime) -> tuple[int, int]:
    """The city and its year, by COPY; returns (alarms, outage members)."""
    pick = random.Random(2026)
    city = _city(residents)
    conn = await asyncpg.connect(PG_DSN.format(name=name))
    try:
        await conn.copy_records_to_table(
            "communities",
            records=[(c, c, "s", "d") for c in city.communities],
            columns=["id", "name", "street", "district"],
        )
        await conn.copy_records_to_table(
            "residents",
            records=[(r, c, r, "addr", "zh-CN", "") for r, _, c in city.residents],
            columns=["id", "community_id", "name", "address", "language", "medical"],
        )
        await conn.copy_records_to_table(
            "terminals",
            records=[(t, r, False) for r, t, _ in city.residents],
            columns=["device_id", "resident_id", "connected"],
        )
        alarms = 0
        batch: list[tuple[Any, ...]] = []
        for row in _alarms(city, first, days, pick):
            batch.append(row)
            if len(batch) == 20_000:
                await conn.copy_records_to_table("alarms", records=batch, columns=_ALARM_COLUMNS)
                alarms += len(batch)
                batch = []
        await conn.copy_records_to_table("alarms", records=batch, columns=_ALARM_COLUMNS)
        alarms += len(batch)
        members = await _outages(conn, city, first, days, pick)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return alarms, members


async def _outages(
    conn: asyncpg.Connection, city: City, first: datetime, days: int, pick: random.Random
) -> int:
    by_community: dict[str, list[str]] = {}
    for _, terminal, community in city.residents:
        by_community.setdefault(community, []).append(terminal)
    count = 0
    for community, terminals in by_community.items():
        for _ in range(max(1, OUTAGES_PER_COMMUNITY_MONTH * days // 30)):
            start = first + timedelta(seconds=pick.uniform(0, days * 86400))
            end = start + timedelta(minutes=pick.uniform(20, 180))
            alarm_id = await conn.fetchval(
                "INSERT INTO alarms (community_id, kind, type, status, priority, created_at, "
                "resolved_at, resolved_by, outcome, escalation_started, step, round, "
                "escalation_exhausted) VALUES ($1, 'device', 'outage', 'resolved', 3, $2, $3, "
                "'engine', 'resolved_itself', true, 0, 0, false) RETURNING id",
                community,
                start,
                end,
            )
            members = pick.sample(terminals, min(OUTAGE_MEMBERS, len(terminals)))
            rows = [
                (
                    alarm_id,
                    device,
                    "offline" if pick.random() < 0.8 else "power_lost",
                    start + timedelta(seconds=pick.uniform(0, 120)),
                    end - timedelta(seconds=pick.uniform(0, 600)),
                )
                for device in members
            ]
            await conn.copy_records_to_table(
                "outage_members",
                records=rows,
                columns=["alarm_id", "device_id", "reason", "joined_at", "left_at"],
            )
            count += len(rows)
    return count


async def timed(url: str, first: date, last: date, community: str | None, runs: int) -> list[float]:
    engine = create_engine(url)
    tz = CityConfig().tz
    now = datetime.now(UTC)
    times = []
    try:
        for _ in range(runs):
            started = time.perf_counter()
            async with session_factory(engine)() as session:
                rows = await reports.daily_report(
                    session=session, first=first, last=last, tz=tz, now=now, community=community
                )
            times.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    assert rows
    return times


async def main(residents: int, days: int, runs: int, *, keep: bool) -> None:
    tz = CityConfig().tz
    last = datetime.now(UTC).astimezone(tz).date() - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    async with fresh_database(keep=keep) as name:
        url = PG_URL.format(name=name)
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        started = time.perf_counter()
        alarms, members = await generate(name, residents, days, day_start(first, tz))
        print(
            f"generated {residents} residents, {alarms} alarms and {members} outage members "
            f"over {days} days ({first} to {last}) in {time.perf_counter() - started:.1f} s"
        )
        for label, start, community in (
            (f"{days} days, all communities", first, None),
            (f"{days} days, one community", first, "c-000"),
            ("30 days, all communities", last - timedelta(days=29), None),
            ("7 days, all communities", last - timedelta(days=6), None),
        ):
            times = await timed(url, start, last, community, runs)
            print(
                f"report {label:32s} median {statistics.median(times):6.3f} s "
                f"(min {min(times):.3f}, max {max(times):.3f}, {runs} runs)"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Daily report benchmark (PostgreSQL)")
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database for a look")
    args = parser.parse_args()
    asyncio.run(main(args.residents, args.days, args.runs, keep=args.keep))
