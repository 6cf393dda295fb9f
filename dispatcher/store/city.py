"""`dispatcher load FILE.yaml`: the city data file into the database, in one transaction.

Everything is checked first (`rules.citydata`, with the communities already in the
database); a file with any error writes nothing. Then the rows the file touches are read
with a few batched SELECTs, compared in memory, and written with bulk INSERT, UPDATE and
DELETE statements, so that loading the same file again changes nothing and a city of
ten thousand residents loads in seconds on SQLite and PostgreSQL alike.

What replaces what (see `dispatcher.rules.citydata`): a listed community's or resident's
own fields; a given `workers:`, `providers:`, `contacts:` list replaces the database's;
a given `terminal:` moves that terminal to the resident (from whoever had it) and
detaches the one the resident had before. Terminal rows are never deleted (they carry
the device's liveness): "removed" in the report of terminals means detached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.rules.citydata import (
    CityError,
    load_yaml,
    parse_city,
)
from dispatcher.store.city_tables import (
    TableCounts,
    load_contacts,
    load_providers,
    load_residents,
    load_terminals,
    load_workers,
    sync_by_key,
)
from dispatcher.store.models import Community

# the names this module has always offered, wherever they are defined now
__all__ = [
    "CityDataError",
    "LoadReport",
    "TableCounts",
    "load_city",
    "load_file",
    "read_city_file",
]


class CityDataError(Exception):
    """The file has errors; nothing was written. `errors` lists every one."""

    def __init__(self, errors: Sequence[CityError]) -> None:
        self.errors: tuple[CityError, ...] = tuple(errors)
        first = str(self.errors[0]) if self.errors else "no details"
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"the city data has errors: {first}{more}")


@dataclass(slots=True)
class LoadReport:
    """What one load did, per table. For terminals, `removed` counts terminals detached
    from their resident (the device row stays)."""

    communities: TableCounts = field(default_factory=TableCounts)
    workers: TableCounts = field(default_factory=TableCounts)
    providers: TableCounts = field(default_factory=TableCounts)
    residents: TableCounts = field(default_factory=TableCounts)
    contacts: TableCounts = field(default_factory=TableCounts)
    terminals: TableCounts = field(default_factory=TableCounts)
    # (device_id, from resident, to resident) for each terminal that changed hands
    moved_terminals: list[tuple[str, str, str]] = field(default_factory=list)

    def tables(self) -> dict[str, TableCounts]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "moved_terminals"}

    @property
    def changed(self) -> bool:
        return any(counts.changed for counts in self.tables().values())

    def __str__(self) -> str:
        lines = [f"{'':12} {'created':>8} {'updated':>8} {'unchanged':>10} {'removed':>8}"]
        for name, c in self.tables().items():
            lines.append(
                f"{name:12} {c.created:8d} {c.updated:8d} {c.unchanged:10d} {c.removed:8d}"
            )
        lines.extend(
            f"terminal {device} moved from resident {old} to {new}"
            for device, old, new in self.moved_terminals[:20]
        )
        if len(self.moved_terminals) > 20:
            lines.append(f"... and {len(self.moved_terminals) - 20} more terminals moved")
        if not self.changed:
            lines.append("nothing changed")
        return "\n".join(lines)


async def load_city(
    *,
    session: AsyncSession,
    document: object,
    current_year: int | None = None,
) -> LoadReport:
    """Check `document` (a loaded city file) and write it in the caller's transaction.

    Raises `CityDataError` with every error, before writing anything, when the file is
    wrong. `current_year` bounds birth years (default: this year, UTC)."""
    year = current_year if current_year is not None else datetime.now(UTC).year
    if (await session.connection()).dialect.name == "postgresql":
        # the batched SELECTs below are prepared statements that a pooled connection
        # keeps: a generic plan made while the tables were empty (the first load) scans
        # them whole for every batch, 100 times slower on the next load; plan each one
        # with its values, for this transaction only
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    communities_db = {
        row["id"]: dict(row)
        for row in (await session.execute(select(Community.__table__))).mappings()
    }
    # seconds of pure CPU for a big city: off the event loop, which may serve alarms
    data, errors = await asyncio.to_thread(
        parse_city, document, current_year=year, existing_communities=set(communities_db)
    )
    if errors:
        raise CityDataError(errors)
    report = LoadReport()

    await sync_by_key(
        session,
        Community,
        {
            c.id: {"id": c.id, "name": c.name, "street": c.street, "district": c.district}
            for c in data.communities
        },
        communities_db,
        report.communities,
    )
    await load_workers(session, data, report.workers)
    await load_providers(session, data, report.providers)
    await load_residents(session, data, report.residents)
    await load_contacts(session, data, report.contacts)
    await load_terminals(session, data, report.terminals, report.moved_terminals)
    return report


def read_city_file(path: Path) -> Any:
    """The YAML of `path`, with line numbers. Raises `CityDataError` when it is not
    YAML or not UTF-8, `OSError` when it cannot be read."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CityDataError(
            [CityError("file", f"is not UTF-8 text (byte {exc.start} is {raw[exc.start]:#x})")]
        ) from None
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"is not valid YAML: {problem}" + (f" ({context})" if context else "")
        raise CityDataError([CityError("file", message, line)]) from None


async def load_file(
    path: Path,
    sessions: async_sessionmaker[AsyncSession],
    *,
    current_year: int | None = None,
) -> LoadReport:
    """`dispatcher load FILE.yaml`: read, check and load the file in one transaction.

    Raises `CityDataError` with every error of the file (nothing is written)."""
    document = await asyncio.to_thread(read_city_file, path)
    async with sessions.begin() as session:
        return await load_city(session=session, document=document, current_year=current_year)
