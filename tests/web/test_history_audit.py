"""The history of alarms and its CSV export, and the audit log of who read or changed a
resident's record: on both databases, through the API as the dashboard uses it."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.rules.alarms import Outcome
from dispatcher.rules.policy import AlarmKind
from dispatcher.store.alarms import close_alarm, open_alarm, opened_entry
from dispatcher.store.models import Community, Resident, Terminal
from dispatcher.users.accounts import Role
from harness.city import seed_city
from tests.web.helpers import WebOnly, bearer, web_only

SettingsFor = Callable[..., Settings]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(when: str) -> datetime:
    return datetime.fromisoformat(when).replace(tzinfo=SHANGHAI)


async def alarm(
    w: WebOnly,
    who: tuple[str, str, str],
    what: tuple[AlarmKind, str],
    opened: str,
    *,
    closed: str | None = None,
) -> int:
    """`who`: (terminal, resident, community); `what`: (kind, type)."""
    device, resident, community = who
    kind, type_ = what
    async with w.sessions.begin() as session:
        found = open_alarm(
            kind=kind,
            type_=type_,
            priority=1,
            device_id=device,
            resident_id=resident,
            community_id=community,
            now=local(opened),
        )
        session.add(found)
        await session.flush()
        session.add(opened_entry(found, alarm_id=found.id, actor="terminal", now=local(opened)))
        if closed is not None:
            session.add(close_alarm(found, outcome=Outcome.HELP_GIVEN, by="op1", now=local(closed)))
        return found.id


class Api:
    def __init__(self, w: WebOnly, token: str) -> None:
        self.w, self.headers = w, {"Authorization": f"Bearer {token}"}

    async def get(self, path: str, status: int = 200) -> Any:
        async with self.w.client.get(path, headers=self.headers) as response:
            assert response.status == status, (path, await response.text())
            if response.content_type == "text/csv":
                return await response.text(encoding="utf-8")
            return await response.json()

    async def put(self, path: str, body: object, status: int = 200) -> Any:
        async with self.w.client.put(path, json=body, headers=self.headers) as response:
            assert response.status == status, (path, await response.text())
            return await response.json()


async def logged_in(w: WebOnly, name: str, role: Role) -> Api:
    await w.add_user(name, role)
    return Api(w, await bearer(w.client, name))


async def a_second_community(w: WebOnly) -> None:
    async with w.sessions.begin() as session:
        session.add(Community(id="yuhua", name="玉华社区", street="s", district="d"))
        await session.flush()
        session.add(Resident(id="r-0101", community_id="yuhua", name="张桂兰", address="玉华路1号"))
        await session.flush()
        session.add(Terminal(device_id="T-0101", resident_id="r-0101"))


async def test_the_history_filters_pages_and_exports_the_same_rows(
    db_url: str, settings_for: SettingsFor
) -> None:
    clock = ManualClock(local("2026-11-30T12:00"))
    async with web_only(settings_for(db_url), clock) as w:
        await seed_city(w.sessions, residents=2)
        await a_second_community(w)
        emergency, service = AlarmKind.EMERGENCY, AlarmKind.SERVICE
        late_sunday = await alarm(
            w,
            ("T-0001", "r-0001", "kangqiao"),
            (emergency, "sos"),
            "2026-11-22T23:30",
            closed="2026-11-23T00:10",
        )
        monday = await alarm(
            w,
            ("T-0002", "r-0002", "kangqiao"),
            (service, "service"),
            "2026-11-23T09:00",
            closed="2026-11-23T10:00",
        )
        other_side = await alarm(
            w,
            ("T-0101", "r-0101", "yuhua"),
            (emergency, "fall"),
            "2026-11-24T08:00",
            closed="2026-11-24T08:30",
        )
        still_open = await alarm(
            w, ("T-0001", "r-0001", "kangqiao"), (emergency, "sos"), "2026-11-25T07:00"
        )
        boss = await logged_in(w, "boss", Role.SUPERVISOR)
        op = await logged_in(w, "op1", Role.OPERATOR)

        async def ids(query: str, api: Api = boss) -> list[int]:
            return [a["id"] for a in await api.get(f"/api/alarms?{query}")]

        newest_first = [still_open, other_side, monday, late_sunday]
        assert await ids("status=all") == newest_first
        assert await ids("status=resolved") == newest_first[1:]
        assert await ids("status=open") == [still_open]  # the queue, as before
        # local dates: 23:30 on Sunday is Sunday in Shanghai (15:30 UTC)
        assert await ids("status=all&from=2026-11-23&to=2026-11-24") == [other_side, monday]
        assert await ids("status=all&to=2026-11-22") == [late_sunday]
        assert await ids("status=all&community=yuhua") == [other_side]
        assert await ids("status=all&kind=service") == [monday]
        assert await ids("status=all&q=张桂兰") == [other_side]  # a resident's name
        assert await ids("status=all&q=r-0002") == [monday]  # or id
        assert await ids("status=all&q=t-0101", op) == [other_side]  # a terminal, any case
        # keyset pages: two by two, the same as all at once
        first = await ids("status=all&limit=2")
        rest = await ids(f"status=all&limit=2&before={first[-1]}")
        assert first + rest == newest_first
        assert await ids(f"status=all&before={newest_first[-1]}") == []

        line = (await boss.get("/api/alarms?status=all&community=yuhua"))[0]
        assert (line["community"], line["resident"]["name"]) == ("玉华社区", "张桂兰")
        assert line["resolved_by"] == "op1"

        # the export: the same rows as the list, in the same order, times in Shanghai
        for query in ("status=all", "status=resolved&kind=emergency", "status=all&q=居民"):
            listed = await boss.get(f"/api/alarms?{query}&limit=1000")
            exported = await boss.get(f"/api/alarms.csv?{query}")
            assert exported.startswith("\ufeff")  # for Excel
            rows = list(csv.DictReader(io.StringIO(exported.removeprefix("\ufeff"))))
            assert [int(r["id"]) for r in rows] == [a["id"] for a in listed], query
            for row, item in zip(rows, listed, strict=True):
                for key in ("kind", "type", "status", "community_id", "resident_id", "device_id"):
                    assert row[key] == (item[key] or ""), key
                assert row["resident"] == (item["resident"] or {}).get("name", "")
                assert (row["outcome"], row["resolved_by"]) == (
                    item["outcome"] or "",
                    item["resolved_by"] or "",
                )
                for key in ("created_at", "acknowledged_at", "resolved_at"):
                    assert (datetime.fromisoformat(row[key]) if row[key] else None) == (
                        datetime.fromisoformat(item[key]) if item[key] else None
                    ), key
                assert row["created_at"].endswith("+08:00")
        # exporting is the supervisors' (bulk personal data), and it is in the audit log
        await op.get("/api/alarms.csv?status=all", status=403)
        exports = [a for a in await boss.get("/api/audit") if a["action"] == "export_alarms"]
        assert [e["detail"] for e in exports][-1] == {"status": "all"}
        assert len(exports) == 3


async def test_every_view_and_edit_of_a_resident_is_in_the_audit(
    db_url: str, settings_for: SettingsFor
) -> None:
    clock = ManualClock(local("2026-11-30T12:00"))
    async with web_only(settings_for(db_url), clock) as w:
        await seed_city(w.sessions, residents=2)
        op = await logged_in(w, "op1", Role.OPERATOR)
        boss = await logged_in(w, "boss", Role.SUPERVISOR)
        admin = await logged_in(w, "root", Role.ADMIN)

        # an operator outside an alarm: the card without the medical notes
        card = await op.get("/api/residents/r-0001")
        assert (card["medical"], card["medical_withheld"]) == ("", True)
        assert card["contacts"]  # whom to call is always the operator's to see
        sos = await alarm(
            w, ("T-0001", "r-0001", "kangqiao"), (AlarmKind.EMERGENCY, "sos"), "2026-11-30T11:59"
        )
        clock.advance(60)
        view = await op.get(f"/api/alarms/{sos}/context")
        assert view["resident"]["medical"] == "高血压"  # during the alarm: at once
        card = await op.get("/api/residents/r-0001")
        assert (card["medical"], card["medical_withheld"]) == ("高血压", False)
        # supervisors always
        card = await boss.get("/api/residents/r-0002")
        assert (card["medical"], card["medical_withheld"]) == ("高血压", False)

        clock.advance(60)
        edited = await admin.get("/api/residents/r-0001")
        edited |= {"community": "kangqiao", "medical": "高血压；青霉素过敏"}
        body = {k: edited[k] for k in ("name", "birth_year", "community", "address", "medical")}
        await admin.put("/api/residents/r-0001", body)
        await admin.put(
            "/api/communities/kangqiao/workers",
            {"workers": [{"id": "w-day", "name": "张丽", "phone": "+8613800000001"}]},
        )
        await boss.put(
            "/api/residents/r-0001/checkin",
            {"window": "07:00-10:00", "paused_until": "2026-12-05", "reason": "住院（心内科）"},
        )

        lines = await boss.get("/api/audit?resident_id=r-0001")
        told = [(a["actor"], a["role"], a["action"], a["alarm_id"]) for a in reversed(lines)]
        assert told == [
            ("op1", "operator", "view_resident", None),
            ("op1", "operator", "view_alarm", sos),
            ("op1", "operator", "view_resident", None),
            ("root", "admin", "view_resident", None),
            ("root", "admin", "edit_resident", None),
            ("root", "admin", "view_resident", None),  # the edit's answer is the card
            ("boss", "supervisor", "edit_checkin", None),
        ]
        edit = next(a for a in lines if a["action"] == "edit_resident")
        assert edit["detail"] == {"fields": ["medical"], "created": False}
        checkin = next(a for a in lines if a["action"] == "edit_checkin")
        assert checkin["detail"] == {"fields": ["paused_until", "reason", "window"]}
        assert "青霉素" not in str(lines)  # what changed, never the value
        assert "心内科" not in str(lines)
        assert all(a["address"] == "127.0.0.1" and a["at"] for a in lines)
        everyone = await boss.get("/api/audit")
        assert any(
            a["action"] == "edit_workers" and a["community_id"] == "kangqiao" for a in everyone
        )
        assert [a["resident_id"] for a in everyone if a["action"] == "view_resident"].count(
            "r-0002"
        ) == 1

        # an operator reads no audit; supervisors page through it
        await op.get("/api/audit?resident_id=r-0001", status=403)
        page = await boss.get("/api/audit?limit=2")
        older = await boss.get(f"/api/audit?limit=100&before={page[-1]['id']}")
        assert [a["id"] for a in page + older] == [a["id"] for a in everyone]


async def test_the_audit_log_cannot_be_changed_or_emptied(
    db_url: str, settings_for: SettingsFor
) -> None:
    async with web_only(settings_for(db_url)) as w:
        await seed_city(w.sessions, residents=1)
        op = await logged_in(w, "op1", Role.OPERATOR)
        await op.get("/api/residents/r-0001")
        for sql in (
            "UPDATE audit_log SET actor = 'nobody'",
            "DELETE FROM audit_log",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with w.sessions.begin() as session:
                    await session.execute(text(sql))
        async with w.sessions() as session:
            assert (await session.execute(text("SELECT actor FROM audit_log"))).all() == [("op1",)]
