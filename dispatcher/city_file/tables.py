"""The writes of a load (`city.load`), one function per table: the rows the file touches
are read with a few batched SELECTs, compared in memory with the checked rows, and
written with bulk INSERT, UPDATE and DELETE statements; what changed is counted in
`TableCounts`. Each function says which column a row's field goes to.

A `terminal:` moves that terminal to the resident (from whoever had it) and detaches the
one the resident had before; terminal rows are never deleted (they carry the device's
liveness).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.city_file.rows import CheckinRow, CityData, ResidentRow
from dispatcher.store import terminal_rows
from dispatcher.store.models import Community, Contact, Provider, Resident, Terminal, Worker

# ids per IN (...): far below the bind-parameter limits of SQLite and asyncpg
CHUNK = 500


@dataclass(slots=True)
class TableCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.removed


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
    await _write(session, model, new_rows, changed, wanted=len(wanted), counts=counts)


async def _write(
    session: AsyncSession,
    model: Any,
    new_rows: list[dict[str, Any]],
    changed: list[dict[str, Any]],
    *,
    wanted: int,
    counts: TableCounts,
) -> None:
    """Insert `new_rows` and update `changed` (by primary key); of the `wanted` rows,
    the rest were unchanged."""
    counts.created += len(new_rows)
    counts.updated += len(changed)
    counts.unchanged += wanted - len(new_rows) - len(changed)
    if new_rows:
        await session.execute(insert(model), new_rows)
    if changed:
        await session.execute(update(model), changed)


async def load_communities(
    session: AsyncSession,
    data: CityData,
    existing: dict[str, dict[str, Any]],
    counts: TableCounts,
) -> None:
    """`existing`: every community of the database (the check needed them already)."""
    wanted = {
        c.id: {"id": c.id, "name": c.name, "street": c.street, "district": c.district}
        for c in data.communities
    }
    await _sync_by_key(session, Community, wanted, existing, counts)


async def _replace_community_list(
    session: AsyncSession,
    model: Any,
    wanted: dict[str, dict[str, Any]],
    communities: Iterable[str],
    counts: TableCounts,
) -> None:
    """Workers or providers: upsert `wanted`; of the communities whose list the file
    gives, remove the rows the file leaves out."""
    existing = {row["id"]: row for row in await _rows_where_in(session, model, model.id, wanted)}
    gone = [
        row["id"]
        for row in await _rows_where_in(session, model, model.community_id, communities)
        if row["id"] not in wanted
    ]
    await _sync_by_key(session, model, wanted, existing, counts)
    counts.removed += len(gone)
    await _delete_where_in(session, model, model.id, gone)


async def load_workers(session: AsyncSession, data: CityData, counts: TableCounts) -> None:
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
    await _replace_community_list(session, Worker, wanted, data.workers_for, counts)


async def load_providers(session: AsyncSession, data: CityData, counts: TableCounts) -> None:
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
    await _replace_community_list(session, Provider, wanted, data.providers_for, counts)


def _resident_columns(r: ResidentRow) -> dict[str, Any]:
    """The columns of a resident row; `phone`, `service_default` and `checkin` only
    when the row gives them (else they stay as they are)."""
    row: dict[str, Any] = {
        "id": r.id,
        "community_id": r.community_id,
        "name": r.name,
        "birth_year": r.birth_year,
        "address": r.address,
        "language": r.language,
        "medical": r.medical,
    }
    if "phone" in r.given:
        row["phone"] = r.phone
    if "service_default" in r.given:
        row["service_default"] = r.service_default
    if "lat" in r.given:
        row["lat"], row["lon"] = r.location or (None, None)
    if "checkin" in r.given:
        checkin = r.checkin or CheckinRow()
        row["checkin_window"] = checkin.window
        row["checkin_paused_until"] = checkin.paused_until
        row["checkin_pause_reason"] = checkin.reason
    return row


async def load_residents(session: AsyncSession, data: CityData, counts: TableCounts) -> None:
    wanted = {r.id: _resident_columns(r) for r in data.residents}
    existing = {
        row["id"]: row for row in await _rows_where_in(session, Resident, Resident.id, wanted)
    }
    for ident, row in wanted.items():
        old = existing.get(ident)
        if "checkin_window" in row and (
            old is None or old["checkin_window"] != row["checkin_window"]
        ):
            # a new window: the engine sets its first deadline at its next pass
            row["checkin_due_at"] = None
    # one shape for every row, so that the bulk statements stay one per table
    for group in _by_keys(wanted):
        await _sync_by_key(session, Resident, group, existing, counts)


def _by_keys(rows: dict[str, dict[str, Any]]) -> list[dict[str, dict[str, Any]]]:
    groups: dict[tuple[str, ...], dict[str, dict[str, Any]]] = {}
    for ident, row in rows.items():
        groups.setdefault(tuple(sorted(row)), {})[ident] = row
    return list(groups.values())


async def load_contacts(session: AsyncSession, data: CityData, counts: TableCounts) -> None:
    """A resident's contacts are matched by priority (unique per resident), so a contact
    whose details change keeps its id, and no step breaks (resident_id, priority)."""
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
    counts.removed += len(gone)
    await _delete_where_in(session, Contact, Contact.id, gone)
    await _write(session, Contact, new_rows, changed, wanted=len(wanted), counts=counts)


async def load_terminals(
    session: AsyncSession,
    data: CityData,
    counts: TableCounts,
    moved: list[tuple[str, str, str]],
) -> None:
    """Terminals in two steps, so that no moment has two terminals on one resident
    (`terminals.resident_id` is unique): first detach every terminal whose resident
    changes, then insert the new ones and attach the moved ones. Each terminal that
    changes hands is added to `moved` as (device_id, from resident, to resident)."""
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
    how = {
        t.device_id: {"protocol": t.protocol, "dc09_account": t.account, "dc09_key": t.key}
        for t in data.terminals
    }
    new_rows = [
        {"device_id": device, "resident_id": resident, "connected": False, **how[device]}
        for device, resident in wanted.items()
        if device not in current
    ]
    # a terminal that stays where it is but now speaks DC-09, or has another key
    rewired = [
        {"device_id": device, **how[device]}
        for device, row in by_device.items()
        if any(row.get(k) != v for k, v in how[device].items())
    ]
    attach = [
        {"device_id": device, "resident_id": resident}
        for device, resident in wanted.items()
        if device in current and current[device] != resident
    ]
    counts.created += len(new_rows)
    only_rewired = {r["device_id"] for r in rewired} - {a["device_id"] for a in attach}
    counts.updated += len(attach) + len(only_rewired)
    counts.unchanged += len(wanted) - len(new_rows) - len(attach) - len(only_rewired)
    counts.removed += sum(1 for device in detach if target[device] is None)
    for device in sorted(wanted):
        old = current.get(device)
        if old is not None and old != wanted[device]:
            moved.append((device, old, wanted[device]))

    await terminal_rows.detach(session, detach, chunk=CHUNK)
    await terminal_rows.add(session, new_rows)
    await terminal_rows.attach(session, attach)
    await terminal_rows.attach(session, rewired)
