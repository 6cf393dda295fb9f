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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import ColumnElement, delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.rules.citydata import (
    CityData,
    CityError,
    load_yaml,
    parse_city,
)
from dispatcher.store.models import Community, Contact, Provider, Resident, Terminal, Worker

# ids per IN (...): far below the bind-parameter limits of SQLite and asyncpg
CHUNK = 500


class CityDataError(Exception):
    """The file has errors; nothing was written. `errors` lists every one."""

    def __init__(self, errors: Sequence[CityError]) -> None:
        self.errors: tuple[CityError, ...] = tuple(errors)
        first = str(self.errors[0]) if self.errors else "no details"
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"the city data has errors: {first}{more}")


@dataclass(slots=True)
class TableCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.removed


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


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    items = sorted(set(values))
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


async def _rows_where_in(
    session: AsyncSession, model: Any, column: Any, values: Iterable[str]
) -> list[dict[str, Any]]:
    """Rows of `model` (as dicts of its columns) whose `column` is one of `values`."""
    table = model.__table__
    result: list[dict[str, Any]] = []
    for chunk in _chunks(values):
        rows = await session.execute(select(table).where(column.in_(chunk)))
        result.extend(dict(row) for row in rows.mappings())
    return result


async def _delete_where_in(
    session: AsyncSession, model: Any, column: Any, values: Iterable[Any]
) -> None:
    items = list(values)
    for start in range(0, len(items), CHUNK):
        condition: ColumnElement[bool] = column.in_(items[start : start + CHUNK])
        await session.execute(delete(model).where(condition))


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return all(old.get(key) == value for key, value in new.items())


async def _sync_by_key(
    session: AsyncSession,
    model: Any,
    wanted: dict[str, dict[str, Any]],
    existing: dict[str, dict[str, Any]],
    counts: TableCounts,
) -> None:
    """Insert the `wanted` rows (by primary key) that are missing, update those that
    differ; rows are dicts of column values that include the primary key."""
    new_rows = [row for ident, row in wanted.items() if ident not in existing]
    changed = [
        row
        for ident, row in wanted.items()
        if ident in existing and not _same(existing[ident], row)
    ]
    counts.created += len(new_rows)
    counts.updated += len(changed)
    counts.unchanged += len(wanted) - len(new_rows) - len(changed)
    if new_rows:
        await session.execute(insert(model), new_rows)
    if changed:
        await session.execute(update(model), changed)


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

    await _sync_by_key(
        session,
        Community,
        {
            c.id: {"id": c.id, "name": c.name, "street": c.street, "district": c.district}
            for c in data.communities
        },
        communities_db,
        report.communities,
    )
    await _load_workers(session, data, report)
    await _load_providers(session, data, report)
    await _load_residents(session, data, report)
    await _load_contacts(session, data, report)
    await _load_terminals(session, data, report)
    return report


async def _load_workers(session: AsyncSession, data: CityData, report: LoadReport) -> None:
    wanted = {
        w.id: {
            "id": w.id,
            "community_id": w.community_id,
            "name": w.name,
            "phone": w.phone,
            "shifts": [s.as_json() for s in w.shifts],
        }
        for w in data.workers
    }
    existing = {row["id"]: row for row in await _rows_where_in(session, Worker, Worker.id, wanted)}
    # the workers of a community whose list the file gives, but which the file leaves out
    gone = [
        row["id"]
        for row in await _rows_where_in(session, Worker, Worker.community_id, data.workers_for)
        if row["id"] not in wanted
    ]
    await _sync_by_key(session, Worker, wanted, existing, report.workers)
    report.workers.removed += len(gone)
    await _delete_where_in(session, Worker, Worker.id, gone)


async def _load_providers(session: AsyncSession, data: CityData, report: LoadReport) -> None:
    wanted = {
        p.id: {
            "id": p.id,
            "community_id": p.community_id,
            "name": p.name,
            "category": p.category,
            "phone": p.phone,
        }
        for p in data.providers
    }
    existing = {
        row["id"]: row for row in await _rows_where_in(session, Provider, Provider.id, wanted)
    }
    gone = [
        row["id"]
        for row in await _rows_where_in(
            session, Provider, Provider.community_id, data.providers_for
        )
        if row["id"] not in wanted
    ]
    await _sync_by_key(session, Provider, wanted, existing, report.providers)
    report.providers.removed += len(gone)
    await _delete_where_in(session, Provider, Provider.id, gone)


async def _load_residents(session: AsyncSession, data: CityData, report: LoadReport) -> None:
    wanted = {
        r.id: {
            "id": r.id,
            "community_id": r.community_id,
            "name": r.name,
            "birth_year": r.birth_year,
            "address": r.address,
            "language": r.language,
            "medical": r.medical,
        }
        for r in data.residents
    }
    existing = {
        row["id"]: row for row in await _rows_where_in(session, Resident, Resident.id, wanted)
    }
    await _sync_by_key(session, Resident, wanted, existing, report.residents)


async def _load_contacts(session: AsyncSession, data: CityData, report: LoadReport) -> None:
    """A resident's contacts are matched by priority (unique per resident), so a contact
    whose details change keeps its id, and no step breaks (resident_id, priority)."""
    counts = report.contacts
    wanted = {
        (c.resident_id, c.priority): {
            "resident_id": c.resident_id,
            "priority": c.priority,
            "name": c.name,
            "relation": c.relation,
            "phone": c.phone,
            "channel": c.channel,
            "language": c.language,
        }
        for c in data.contacts
    }
    existing = {
        (row["resident_id"], row["priority"]): row
        for row in await _rows_where_in(session, Contact, Contact.resident_id, data.contacts_for)
    }
    gone = [row["id"] for key, row in existing.items() if key not in wanted]
    new_rows: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for key, row in wanted.items():
        old = existing.get(key)
        if old is None:
            new_rows.append(row)
        elif not _same(old, row):
            changed.append({"id": old["id"], **row})
    counts.created += len(new_rows)
    counts.updated += len(changed)
    counts.unchanged += len(wanted) - len(new_rows) - len(changed)
    counts.removed += len(gone)
    await _delete_where_in(session, Contact, Contact.id, gone)
    if changed:
        await session.execute(update(Contact), changed)
    if new_rows:
        await session.execute(insert(Contact), new_rows)


async def _load_terminals(session: AsyncSession, data: CityData, report: LoadReport) -> None:
    """Terminals in two steps, so that no moment has two terminals on one resident
    (`terminals.resident_id` is unique): first detach every terminal whose resident
    changes, then insert the new ones and attach the moved ones."""
    counts = report.terminals
    wanted = {t.device_id: t.resident_id for t in data.terminals}
    by_device = {
        row["device_id"]: row
        for row in await _rows_where_in(session, Terminal, Terminal.device_id, wanted)
    }
    by_resident = await _rows_where_in(session, Terminal, Terminal.resident_id, data.terminal_for)
    # what each terminal that the file touches should point at: its resident in the
    # file, or nobody if the file gives its resident another terminal or none
    target: dict[str, str | None] = {row["device_id"]: None for row in by_resident}
    target.update(wanted)
    current = {row["device_id"]: row["resident_id"] for row in by_resident}
    current.update({device: row["resident_id"] for device, row in by_device.items()})

    detach = sorted(
        device
        for device, resident in target.items()
        if device in current and current[device] is not None and current[device] != resident
    )
    new_rows = [
        {"device_id": device, "resident_id": resident, "connected": False}
        for device, resident in wanted.items()
        if device not in current
    ]
    attach = [
        {"device_id": device, "resident_id": resident}
        for device, resident in wanted.items()
        if device in current and current[device] != resident
    ]
    counts.created += len(new_rows)
    counts.updated += len(attach)
    counts.unchanged += len(wanted) - len(new_rows) - len(attach)
    counts.removed += sum(1 for device in detach if target[device] is None)
    for device in sorted(wanted):
        old = current.get(device)
        if old is not None and old != wanted[device]:
            report.moved_terminals.append((device, old, wanted[device]))

    for start in range(0, len(detach), CHUNK):
        chunk = detach[start : start + CHUNK]
        await session.execute(
            update(Terminal).where(Terminal.device_id.in_(chunk)).values(resident_id=None)
        )
    if new_rows:
        await session.execute(insert(Terminal), new_rows)
    if attach:
        await session.execute(update(Terminal), attach)


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
