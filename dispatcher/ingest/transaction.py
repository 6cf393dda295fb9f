"""Writing what terminals send: one transaction per batch, then the acks.

Each distinct (device_id, event_id) is logged once; its effect on the resident's alarms
is decided by `dispatcher.rules.alarms` and written in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Select, String, and_, bindparam, func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from devices.events import AckResult, EventType, Rejection, TerminalEvent, TerminalReport
from dispatcher.actions.tell_contacts import tell_closed
from dispatcher.rules import alarms as rules
from dispatcher.rules.checkins import counts_as_checkin
from dispatcher.rules.policy import AlarmKind
from dispatcher.rules.rejections import NO_DEVICE, Repeats
from dispatcher.store import terminal_rows
from dispatcher.store.alarms import close_alarm, open_alarm, opened_entry
from dispatcher.store.changes import Changes, Closed, Opened
from dispatcher.store.db import is_postgresql, take_write_lock
from dispatcher.store.event_log import log_entry, raw_text
from dispatcher.store.models import ACCEPTED_KINDS_SQL, Alarm, EventLog, Resident, Terminal


@dataclass(frozen=True, slots=True)
class Reply:
    device_id: str
    event_id: str
    result: AckResult
    reason: str | None = None


@dataclass(slots=True)
class BatchResult:
    replies: list[Reply] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)  # alarm ids, for the engine and live view
    changed: list[int] = field(default_factory=list)
    # for metrics and logs: alarm id -> (kind, device_id) of each opened; (id, outcome,
    # device_id) of each the system closed
    opened_kinds: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    closed: list[tuple[int, str, str | None]] = field(default_factory=list)
    # a terminal lost or got back its power: the engine's outage check should look
    power_changed: bool = False

    def merge(self, other: BatchResult) -> None:
        """Add what a batch written in parts did (one by one, after a failed write)."""
        self.replies += other.replies
        self.opened += other.opened
        self.changed += other.changed
        self.opened_kinds |= other.opened_kinds
        self.closed += other.closed
        self.power_changed |= other.power_changed

    def changes(self) -> Changes:
        """What the batch's commit changed, for `dispatcher.after_commit`: new alarms
        need their first steps; a power report needs the engine's look at terminals."""
        return Changes(
            opened=[Opened(i, kind, device) for i, (kind, device) in self.opened_kinds.items()],
            closed=[Closed(i, outcome, None, device) for i, outcome, device in self.closed],
            alarms=[*self.opened, *self.changed],
            steps=bool(self.opened),
            terminals=self.power_changed,
            outbox=bool(self.changed),
        )


def rejection_row(rej: Rejection, now: datetime) -> EventLog:
    """A rejected message with its payload: `size` is the payload's, `raw_escaped` says
    that `raw` is escaped (`event_log.raw_bytes` gives the bytes back)."""
    raw, escaped = raw_text(rej.raw)
    data: dict[str, Any] = {"topic": rej.topic, "reason": rej.reason, "size": len(rej.raw)}
    if escaped:
        data["raw_escaped"] = True
    return _sent("rejected", rej, now, data=data, raw=raw)


def repeats_row(repeats: Repeats, now: datetime) -> EventLog:
    """How many more rejections of one terminal were answered but not logged in full."""
    return log_entry(
        "rejected_repeats",
        at=now,
        actor="terminal",
        device_id=None if repeats.source == NO_DEVICE else repeats.source,
        data={
            "count": repeats.count,
            "since": repeats.since.isoformat(),
            "until": repeats.until.isoformat(),
            "reasons": dict(repeats.reasons),
        },
    )


def _sent(
    kind: str,
    item: TerminalEvent | TerminalReport | Rejection,
    now: datetime,
    *,
    data: dict[str, Any],
    alarm_id: int | None = None,
    type_: str | None = None,
    raw: str | None = None,
) -> EventLog:
    """A line of what a terminal sent, under the ids it gave (its device's, the event's)."""
    return log_entry(
        kind,
        at=now,
        actor="terminal",
        alarm_id=alarm_id,
        device_id=item.device_id,
        event_id=item.event_id,
        type_=type_,
        data=data,
        raw=raw,
    )


def event_data(event: TerminalEvent) -> dict[str, Any]:
    data: dict[str, Any] = {"ts": event.ts.isoformat()}
    if event.battery is not None:
        data["battery"] = event.battery
    if event.rssi is not None:
        data["rssi"] = event.rssi
    if event.loc is not None:
        data["loc"] = {"lat": event.loc.lat, "lon": event.loc.lon}
    data.update(event.detail)
    return data


def logged_already(
    keys: Sequence[tuple[str, str]], *, postgresql: bool
) -> Select[str | None, str | None]:
    """Which of these (device_id, event_id) were accepted before: by the partial unique
    index, whose condition the query repeats as text (bound values would hide it from
    the planner, and the whole event log, a year of a city, would be read each batch).

    On PostgreSQL the keys go as two arrays joined to the index: one statement for any
    batch, prepared once. The row-value IN list that SQLite takes is, on PostgreSQL, a
    statement of its own for each size of batch and an OR of 200 arms to plan (17 ms a
    batch of 200, against ~1 ms of execution: most of ingest's time in PostgreSQL)."""
    query = select(EventLog.device_id, EventLog.event_id).where(text(ACCEPTED_KINDS_SQL))
    if not postgresql:
        return query.where(tuple_(EventLog.device_id, EventLog.event_id).in_(keys))
    wanted = (
        func.unnest(
            bindparam("devices", [d for d, _ in keys], type_=ARRAY(String)),
            bindparam("events", [e for _, e in keys], type_=ARRAY(String)),
        )
        .table_valued("device_id", "event_id")
        .render_derived(name="wanted")
    )
    return query.join(
        wanted,
        and_(EventLog.device_id == wanted.c.device_id, EventLog.event_id == wanted.c.event_id),
    )


async def record_batch(
    session: AsyncSession,
    items: Sequence[TerminalEvent | TerminalReport | Rejection],
    *,
    now: datetime,
    cancel_closes_emergency: bool,
    tell_contacts_on_close: bool = True,
    admit: Callable[[str, str, datetime], bool] | None = None,
) -> BatchResult:
    """Log and apply a batch of decoded terminal messages; the caller commits, then acks.

    Beside the alarms: the resident's last press that counts as a check-in, and the
    terminal's power (lost since when, for the outage check)."""
    result = BatchResult()
    events = [i for i in items if isinstance(i, TerminalEvent)]
    reports = [i for i in items if isinstance(i, TerminalReport)]
    for item in items:
        if isinstance(item, Rejection):
            session.add(rejection_row(item, now))
            if item.device_id and item.event_id:
                result.replies.append(
                    Reply(item.device_id, item.event_id, AckResult.REJECTED, item.reason)
                )
    if not events and not reports:
        return result

    # what is read from here on (open alarms above all) must still hold when this commits
    await take_write_lock(session)
    device_ids = {e.device_id for e in events} | {r.device_id for r in reports}
    # device -> (resident, community) of the terminals that are known
    owners: dict[str, tuple[str | None, str | None]] = {
        device_id: (resident_id, community_id)
        for device_id, resident_id, community_id in await session.execute(
            select(Terminal.device_id, Terminal.resident_id, Resident.community_id)
            .outerjoin(Resident, Resident.id == Terminal.resident_id)
            .where(Terminal.device_id.in_(device_ids))
        )
    }
    seen: set[tuple[str | None, str | None]] = {
        (device_id, event_id)
        for device_id, event_id in await session.execute(
            logged_already(
                [(e.device_id, e.event_id) for e in events]
                + [(r.device_id, r.event_id) for r in reports],
                postgresql=is_postgresql(session),
            )
        )
    }
    open_by_device = await _open_alarms(session, device_ids & owners.keys())
    # alarms opened by this batch, under a temporary negative id until one INSERT for all
    fresh: dict[int, Alarm] = {}
    rows: list[EventLog] = []
    pressed: set[str] = set()  # residents whose press is a sign of life
    power: dict[str, bool] = {}  # device -> lost (True) or restored (False), the last word
    closed: list[Alarm] = []  # emergencies the resident's own press closed

    for event in events:
        key = (event.device_id, event.event_id)
        if event.device_id not in owners:
            reason = f"unknown terminal {event.device_id}"
            result.replies.append(Reply(*key, AckResult.REJECTED, reason))
            # `admit`: the terminal's repeat limit (`rules.rejections`); past it counted
            if admit is not None and not admit(event.device_id, reason, now):
                continue
            data = {"reason": reason, **event_data(event)}
            rows.append(_sent("rejected", event, now, type_=event.type.value, data=data))
            continue
        if key in seen:
            result.replies.append(Reply(*key, AckResult.DUPLICATE))
            continue
        seen.add(key)
        resident_id = owners[event.device_id][0]
        if resident_id is not None and counts_as_checkin(event.type) and not event.automatic:
            pressed.add(resident_id)
        if event.type in (EventType.POWER_LOST, EventType.POWER_RESTORED):
            power[event.device_id] = event.type is EventType.POWER_LOST
        alarm_id, actions = _apply(
            fresh,
            event,
            owners[event.device_id],
            open_by_device.setdefault(event.device_id, []),
            now=now,
            cancel_closes_emergency=cancel_closes_emergency,
            result=result,
            closed=closed,
        )
        rows.append(
            _sent(
                "device_event",
                event,
                now,
                alarm_id=alarm_id,
                type_=event.type.value,
                data=event_data(event),
            )
        )
        # after the event itself, so the timeline reads in the order things happened
        rows.extend(actions)
        result.replies.append(Reply(*key, AckResult.ACCEPTED))
    if reports:
        await _record_reports(
            session, reports, owners, seen, open_by_device, fresh, rows, result, now=now
        )
    if fresh:
        await _insert_fresh(session, fresh, rows, result)
    session.add_all(rows)
    await _signs_of_life(session, pressed, power, now)
    result.power_changed = bool(power)
    if tell_contacts_on_close:
        for alarm in closed:
            await tell_closed(session=session, alarm=alarm, now=now)
    return result


async def _record_reports(  # noqa: PLR0917 - the batch's state, shared with the events
    session: AsyncSession,
    reports: list[TerminalReport],
    owners: dict[str, tuple[str | None, str | None]],
    seen: set[tuple[str | None, str | None]],
    open_by_device: dict[str, list[Alarm]],
    fresh: dict[int, Alarm],
    rows: list[EventLog],
    result: BatchResult,
    *,
    now: datetime,
) -> None:
    """Events of DC-09 terminals that are no event type of ours: logged once, on the
    terminal's newest open alarm (so its timeline shows them). Contact ID 102, the
    terminal's own missed check-in, opens one unless the resident has one open."""
    residents = {
        owners[r.device_id][0] for r in reports if r.missed_checkin and r.device_id in owners
    }
    missing = (
        set(
            await session.scalars(
                select(Alarm.resident_id).where(
                    Alarm.resident_id.in_([r for r in residents if r is not None]),
                    Alarm.type == rules.MISSED_CHECKIN,
                    Alarm.status != rules.Status.RESOLVED.value,
                )
            )
        )
        if residents - {None}
        else set()
    )
    for report in reports:
        key = (report.device_id, report.event_id)
        data = {"ts": report.ts.isoformat(), **dict(report.detail)}
        if report.device_id not in owners:
            reason = f"unknown terminal {report.device_id}"
            rows.append(_sent("rejected", report, now, data={"reason": reason, **data}))
            result.replies.append(Reply(*key, AckResult.REJECTED, reason))
            continue
        if key in seen:
            result.replies.append(Reply(*key, AckResult.DUPLICATE))
            continue
        seen.add(key)
        resident_id, community_id = owners[report.device_id]
        open_alarms = open_by_device.setdefault(report.device_id, [])
        actions: list[EventLog] = []
        alarm_id = _view(open_alarms[0], fresh).id if open_alarms else None
        if report.missed_checkin and resident_id is not None and resident_id not in missing:
            missing.add(resident_id)
            alarm = open_alarm(
                kind=AlarmKind.CHECKIN,
                type_=rules.MISSED_CHECKIN,
                priority=rules.MISSED_CHECKIN_PRIORITY,
                device_id=report.device_id,
                resident_id=resident_id,
                community_id=community_id,
                now=now,
            )
            alarm_id = _fresh(alarm, fresh, open_alarms, result)
            actions.append(opened_entry(alarm, alarm_id=alarm_id, actor="terminal", now=now))
        rows.append(_sent("device_report", report, now, alarm_id=alarm_id, data=data))
        rows.extend(actions)
        result.replies.append(Reply(*key, AckResult.ACCEPTED))


def _fresh(
    alarm: Alarm, fresh: dict[int, Alarm], open_alarms: list[Alarm], result: BatchResult
) -> int:
    """An alarm the batch opens: under a temporary negative id until `_insert_fresh`,
    and its terminal's newest for the rest of the batch."""
    temporary = -1 - len(fresh)
    fresh[temporary] = alarm
    open_alarms.insert(0, alarm)
    result.opened.append(temporary)
    return temporary


async def _insert_fresh(
    session: AsyncSession, fresh: dict[int, Alarm], rows: list[EventLog], result: BatchResult
) -> None:
    """One INSERT ... RETURNING for every alarm the batch opened; their temporary ids in
    the log rows and the result become the real ones."""
    session.add_all(fresh.values())
    await session.flush()
    real = {temporary: alarm.id for temporary, alarm in fresh.items()}
    for row in rows:
        if row.alarm_id is not None and row.alarm_id < 0:
            row.alarm_id = real[row.alarm_id]
    result.opened = [real.get(i, i) for i in result.opened]
    result.changed = [real.get(i, i) for i in result.changed]
    result.opened_kinds = {a.id: (a.kind, a.device_id) for a in fresh.values()}
    result.closed = [(real.get(i, i), outcome, d) for i, outcome, d in result.closed]


async def _signs_of_life(
    session: AsyncSession, pressed: set[str], power: dict[str, bool], now: datetime
) -> None:
    if pressed:
        await session.execute(
            update(Resident).where(Resident.id.in_(sorted(pressed))).values(last_press_at=now)
        )
    await terminal_rows.set_power(
        session,
        lost=sorted(d for d, is_lost in power.items() if is_lost),
        restored=sorted(d for d, is_lost in power.items() if not is_lost),
        now=now,
    )


async def _open_alarms(session: AsyncSession, device_ids: set[str]) -> dict[str, list[Alarm]]:
    """The terminals' unresolved alarms, newest first, locked until the commit: a press
    must not be attached to an alarm that an operator closes meanwhile
    (`actions/alarms.py: resolve`). On PostgreSQL the rows are locked, always in the same
    order, so that two dispatchers cannot deadlock; a resolve that locked one first has
    committed by the time it is ours, and that alarm is then no longer read as open.
    SQLite has no row locks: `record_batch` took its one write lock before reading."""
    if not device_ids:
        return {}
    rows = await session.scalars(
        select(Alarm)
        .where(Alarm.device_id.in_(device_ids), Alarm.status != rules.Status.RESOLVED.value)
        .order_by(Alarm.id.desc())
        # NO KEY UPDATE: an alarm's key never changes, and the foreign-key checks of rows
        # written about it (notifications, outage members) take KEY SHARE, which FOR
        # UPDATE would block: a deadlock with the notifier, seen under load
        .with_for_update(key_share=True)
    )
    found: dict[str, list[Alarm]] = {}
    for alarm in rows:
        found.setdefault(alarm.device_id or "", []).append(alarm)
    return found


def _view(alarm: Alarm, fresh: dict[int, Alarm]) -> rules.OpenAlarmView:
    alarm_id = alarm.id
    if alarm_id is None:
        alarm_id = next(k for k, a in fresh.items() if a is alarm)
    return rules.OpenAlarmView(
        id=alarm_id,
        kind=AlarmKind(alarm.kind),
        type=alarm.type,
        status=rules.Status(alarm.status),
        cancel_requested=alarm.cancel_requested_at is not None,
    )


def _apply(
    fresh: dict[int, Alarm],
    event: TerminalEvent,
    owner: tuple[str | None, str | None],
    open_alarms: list[Alarm],
    *,
    now: datetime,
    cancel_closes_emergency: bool,
    result: BatchResult,
    closed: list[Alarm],
) -> tuple[int | None, list[EventLog]]:
    """Apply the rules' effects; `open_alarms` (newest first) is kept current for the
    batch. Returns the alarm concerned (the first effect's) and the log rows of what was
    done."""
    views = [_view(a, fresh) for a in open_alarms]
    effects = rules.effects_of_event(
        event.type,
        views,
        cancel_closes_emergency=cancel_closes_emergency,
        pressed=not event.automatic,
    )
    by_id = {v.id: a for v, a in zip(views, open_alarms, strict=True)}
    actions: list[EventLog] = []
    concerned: int | None = None
    for index, effect in enumerate(effects):
        alarm_id = _apply_one(
            effect,
            fresh=fresh,
            event=event,
            owner=owner,
            open_alarms=open_alarms,
            by_id=by_id,
            actions=actions,
            now=now,
            result=result,
        )
        if alarm_id is not None:
            if index == 0:
                concerned = alarm_id
            alarm = by_id.get(alarm_id)
            if (
                isinstance(effect, rules.Resolve)
                and alarm is not None
                and alarm.kind == AlarmKind.EMERGENCY
            ):
                closed.append(alarm)
    return concerned, actions


def _apply_one(
    effect: rules.Effect,
    *,
    fresh: dict[int, Alarm],
    event: TerminalEvent,
    owner: tuple[str | None, str | None],
    open_alarms: list[Alarm],
    by_id: dict[int, Alarm],
    actions: list[EventLog],
    now: datetime,
    result: BatchResult,
) -> int | None:
    def log(kind: str, alarm_id: int, data: dict[str, Any]) -> None:
        actions.append(
            log_entry(
                kind,
                at=now,
                actor="terminal",
                alarm_id=alarm_id,
                device_id=event.device_id,
                type_=event.type.value,
                data=data,
            )
        )

    match effect:
        case rules.Open(kind=kind, type=type_, priority=priority):
            alarm = open_alarm(
                kind=kind,
                type_=type_,
                priority=priority,
                device_id=event.device_id,
                resident_id=owner[0],
                community_id=owner[1],
                now=now,
            )
            temporary = _fresh(alarm, fresh, open_alarms, result)
            actions.append(opened_entry(alarm, alarm_id=temporary, actor="terminal", now=now))
            return temporary
        case rules.Attach(alarm_id=alarm_id, note=note):
            log("alarm_updated", alarm_id, {"note": note})
        case rules.MarkCancel(alarm_id=alarm_id):
            by_id[alarm_id].cancel_requested_at = now
            log("cancel_requested", alarm_id, {"note": "resident pressed cancel"})
        case rules.ClearCancel(alarm_id=alarm_id):
            by_id[alarm_id].cancel_requested_at = None
            log("cancel_withdrawn", alarm_id, {"note": "resident pressed again after cancel"})
        case rules.Resolve(alarm_id=alarm_id, outcome=outcome, by=by):
            alarm = by_id[alarm_id]
            open_alarms.remove(alarm)
            result.closed.append((alarm_id, outcome.value, event.device_id))
            actions.append(
                close_alarm(
                    alarm,
                    outcome=outcome,
                    by=by,
                    now=now,
                    by_operator=False,
                    actor="terminal",
                    alarm_id=alarm_id,
                    type_=event.type.value,
                )
            )
        case rules.LogOnly():
            return None
    result.changed.append(effect.alarm_id)
    return effect.alarm_id
