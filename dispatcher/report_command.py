"""`dispatcher report` (docs/daily-care.md): the daily figures per community, CSV or JSON."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, timedelta
from typing import TextIO

from dispatcher.clock import Clock, SystemClock
from dispatcher.config import Settings
from dispatcher.rules import reports as rules
from dispatcher.store.db import create_engine, session_factory
from dispatcher.views import reports as store

DEFAULT_DAYS = 7


def default_range(today: date) -> tuple[date, date]:
    """The last 7 days up to today, as docs/daily-care.md has it."""
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def write_csv(rows: list[rules.DailyRow], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rules.CSV_HEADER)
    writer.writerows(rules.csv_values(row) for row in rows)


def write_json(rows: list[rules.DailyRow], out: TextIO) -> None:
    json.dump([rules.json_values(row) for row in rows], out, ensure_ascii=False, indent=1)
    out.write("\n")


async def print_report(
    settings: Settings,
    *,
    first: date | None,
    last: date | None,
    community: str | None,
    fmt: str,
    out: TextIO = sys.stdout,
    clock: Clock | None = None,
) -> int:
    now = (clock or SystemClock()).now()
    tz = settings.city.tz
    default_first, default_last = default_range(now.astimezone(tz).date())
    first = first or (last - timedelta(days=DEFAULT_DAYS - 1) if last else default_first)
    last = last or default_last
    if last < first:
        print(f"dispatcher: --to {last} is before --from {first}", file=sys.stderr)
        return 2
    engine = create_engine(settings.database.url)
    try:
        async with session_factory(engine)() as session:
            if community is not None and not await store.community_ids(
                session=session, community=community
            ):
                print(f"dispatcher: no community {community}", file=sys.stderr)
                return 2
            rows = await store.daily_report(
                session=session, first=first, last=last, tz=tz, now=now, community=community
            )
    finally:
        await engine.dispose()
    (write_json if fmt == "json" else write_csv)(rows, out)
    return 0
