"""`dispatcher load FILE.yaml` on SQLite and PostgreSQL: idempotent, all or nothing,
contacts and workers replaced to match the file, terminals moved, fast for a city."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.city_file.load import LoadReport, load_city, load_file, stale_after
from dispatcher.city_file.rows import CityDataError
from dispatcher.city_file.tables import TableCounts
from dispatcher.store.db import create_engine, session_factory
from dispatcher.store.models import Community, Contact, Provider, Resident, Terminal, Worker

Sessions = async_sessionmaker[AsyncSession]
YEAR = 2026
TABLES = (Community, Worker, Provider, Resident, Contact, Terminal)


def city_document(residents: int, *, per_community: int = 100) -> dict[str, Any]:
    """A generated city: a community per `per_community` residents, each with three
    workers and two providers; each resident with a terminal and two contacts."""
    communities = [
        {
            "id": f"c-{c:03d}",
            "name": f"社区{c}",
            "street": "纬北路街道",
            "district": "天桥区",
            "workers": [
                {
                    "id": f"w-{c:03d}-{w}",
                    "name": f"社工{c}-{w}",
                    "phone": f"+86138{c:03d}{w:05d}",
                    "shifts": [
                        {"days": "mon-sun", "start": "08:00", "end": "20:00"}
                        if w % 2 == 0
                        else {"days": "mon-sun", "start": "20:00", "end": "08:00"}
                    ],
                }
                for w in range(3)
            ],
            "providers": [
                {
                    "id": f"p-{c:03d}-{kind}",
                    "name": f"服务{c}",
                    "category": kind,
                    "phone": f"+86137{c:03d}{p:05d}",
                }
                for p, kind in enumerate(("meals", "repairs"))
            ],
        }
        for c in range((residents + per_community - 1) // per_community)
    ]
    return {
        "communities": communities,
        "residents": [
            {
                "id": f"r-{i:05d}",
                "name": f"居民{i}",
                "birth_year": 1930 + i % 30,
                "community": f"c-{i // per_community:03d}",
                "address": f"天桥区纬北路{i}号",
                "language": "zh-CN" if i % 10 else "en",
                "medical": "高血压" if i % 3 else "",
                "terminal": f"T-{i:05d}",
                "contacts": [
                    {"name": "李娜", "relation": "女儿", "phone": f"+86139{i:08d}", "priority": 1},
                    {"name": "赵强", "relation": "邻居", "phone": f"+86135{i:08d}", "priority": 2},
                ],
            }
            for i in range(residents)
        ],
    }


def counts(created: int = 0, updated: int = 0, unchanged: int = 0, removed: int = 0) -> TableCounts:
    return TableCounts(created=created, updated=updated, unchanged=unchanged, removed=removed)


async def load(sessions: Sessions, document: dict[str, Any]) -> LoadReport:
    async with sessions.begin() as session:
        return await load_city(session=session, document=document, current_year=YEAR)


async def table_sizes(sessions: Sessions) -> dict[str, int]:
    async with sessions() as session:
        return {
            model.__tablename__: int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
            for model in TABLES
        }


async def contacts_of(sessions: Sessions, resident_id: str) -> list[tuple[int, str, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Contact.priority, Contact.name, Contact.phone)
            .where(Contact.resident_id == resident_id)
            .order_by(Contact.priority)
        )
        return [(p, n, ph) for p, n, ph in rows]


async def terminals(sessions: Sessions) -> dict[str, str | None]:
    async with sessions() as session:
        rows = await session.execute(select(Terminal.device_id, Terminal.resident_id))
        return dict(rows.all())


async def test_loading_twice_changes_nothing(sessions: Sessions) -> None:
    doc = city_document(30, per_community=10)
    first = await load(sessions, doc)
    assert first.tables() == {
        "communities": counts(created=3),
        "workers": counts(created=9),
        "providers": counts(created=6),
        "residents": counts(created=30),
        "contacts": counts(created=60),
        "terminals": counts(created=30),
    }
    assert first.changed

    second = await load(sessions, copy.deepcopy(doc))
    assert not second.changed
    assert second.tables() == {
        "communities": counts(unchanged=3),
        "workers": counts(unchanged=9),
        "providers": counts(unchanged=6),
        "residents": counts(unchanged=30),
        "contacts": counts(unchanged=60),
        "terminals": counts(unchanged=30),
    }
    assert "nothing changed" in str(second)
    assert await table_sizes(sessions) == {
        "communities": 3,
        "workers": 9,
        "providers": 6,
        "residents": 30,
        "contacts": 60,
        "terminals": 30,
    }
    async with sessions() as session:
        worker = await session.get(Worker, "w-001-1")
        resident = await session.get(Resident, "r-00010")
        terminal = await session.get(Terminal, "T-00010")
    assert worker is not None
    assert worker.shifts == [{"days": "mon-sun", "start": "20:00", "end": "08:00"}]
    assert resident is not None
    assert (resident.community_id, resident.language, resident.birth_year) == (
        "c-001",
        "en",
        1940,
    )
    assert terminal is not None
    assert (terminal.resident_id, terminal.connected) == ("r-00010", False)


async def test_changed_fields_are_updated_and_counted(sessions: Sessions) -> None:
    doc = city_document(5, per_community=5)
    await load(sessions, doc)
    doc["residents"][2]["name"] = "改名"
    doc["residents"][3]["birth_year"] = None
    doc["communities"][0]["street"] = "新街道"
    doc["communities"][0]["workers"][1]["shifts"] = []
    doc["communities"][0]["providers"][0]["phone"] = "+8613700000999"
    report = await load(sessions, doc)
    assert report.communities == counts(updated=1)
    assert report.workers == counts(updated=1, unchanged=2)
    assert report.providers == counts(updated=1, unchanged=1)
    assert report.residents == counts(updated=2, unchanged=3)
    assert report.contacts == counts(unchanged=10)
    async with sessions() as session:
        resident = await session.get(Resident, "r-00003")
        worker = await session.get(Worker, "w-000-1")
    assert resident is not None
    assert resident.birth_year is None
    assert worker is not None
    assert worker.shifts == []
    assert not (await load(sessions, doc)).changed


async def test_a_file_with_one_bad_row_writes_nothing(sessions: Sessions) -> None:
    doc = city_document(50, per_community=10)
    doc["residents"][37]["contacts"][1]["phone"] = "+86139"
    with pytest.raises(CityDataError) as info:
        await load(sessions, doc)
    assert [(e.place, e.message) for e in info.value.errors] == [
        (
            "residents[37] (r-00037).contacts[1].phone",
            "'+86139' is not a valid number for country code +86",
        )
    ]
    assert "residents[37] (r-00037).contacts[1].phone" in str(info.value)
    assert set((await table_sizes(sessions)).values()) == {0}

    # nor does it change a database that holds the city already
    good = city_document(50, per_community=10)
    await load(sessions, good)
    doc["residents"][0]["name"] = "改名"
    with pytest.raises(CityDataError):
        await load(sessions, doc)
    async with sessions() as session:
        resident = await session.get(Resident, "r-00000")
    assert resident is not None
    assert resident.name == "居民0"
    assert not (await load(sessions, good)).changed


async def test_residents_may_name_communities_already_in_the_database(
    sessions: Sessions,
) -> None:
    doc = city_document(3, per_community=10)
    await load(sessions, {"communities": doc["communities"]})
    report = await load(sessions, {"residents": doc["residents"]})
    assert report.residents == counts(created=3)
    assert report.communities == counts()

    stray = copy.deepcopy(doc["residents"][0])
    stray["id"], stray["terminal"], stray["community"] = "r-x", "T-x", "c-999"
    with pytest.raises(CityDataError) as info:
        await load(sessions, {"residents": [stray]})
    assert [str(e) for e in info.value.errors] == [
        (
            "residents[0] (r-x).community: community 'c-999' is neither in this file nor in "
            "the database"
        )
    ]


async def test_contacts_are_replaced_to_match_the_file(sessions: Sessions) -> None:
    doc = city_document(3, per_community=10)
    await load(sessions, doc)
    async with sessions() as session:
        first_id = await session.scalar(
            select(Contact.id).where(Contact.resident_id == "r-00001", Contact.priority == 1)
        )

    doc["residents"][1]["contacts"] = [
        {"name": "李娜", "relation": "女儿", "phone": "+8613911112222", "priority": 1},
        {"name": "王芳", "relation": "邻居", "phone": "+8613933334444", "priority": 3},
    ]
    doc["residents"][2]["contacts"] = []
    report = await load(sessions, doc)
    assert report.contacts == counts(created=1, updated=1, unchanged=2, removed=3)
    assert await contacts_of(sessions, "r-00001") == [
        (1, "李娜", "+8613911112222"),
        (3, "王芳", "+8613933334444"),
    ]
    assert await contacts_of(sessions, "r-00002") == []
    assert len(await contacts_of(sessions, "r-00000")) == 2
    async with sessions() as session:
        same_id = await session.scalar(
            select(Contact.id).where(Contact.resident_id == "r-00001", Contact.priority == 1)
        )
    # a changed contact keeps its id (outbox rows name contacts by id)
    assert same_id == first_id

    # swapping priorities is two updates, not a clash on (resident_id, priority)
    doc["residents"][1]["contacts"][0]["priority"] = 3
    doc["residents"][1]["contacts"][1]["priority"] = 1
    report = await load(sessions, doc)
    assert report.contacts == counts(updated=2, unchanged=2)
    assert await contacts_of(sessions, "r-00001") == [
        (1, "王芳", "+8613933334444"),
        (3, "李娜", "+8613911112222"),
    ]

    # a resident whose contacts the file leaves out keeps them
    del doc["residents"][0]["contacts"]
    report = await load(sessions, doc)
    assert report.contacts == counts(unchanged=2)
    assert len(await contacts_of(sessions, "r-00000")) == 2


async def test_workers_and_providers_are_replaced_only_when_listed(sessions: Sessions) -> None:
    doc = city_document(3, per_community=10)
    await load(sessions, doc)
    header = {k: v for k, v in doc["communities"][0].items() if k not in ("workers", "providers")}
    report = await load(sessions, {"communities": [header]})
    assert (report.workers, report.providers) == (counts(), counts())
    assert (await table_sizes(sessions))["workers"] == 3

    community = copy.deepcopy(doc["communities"][0])
    community["workers"] = community["workers"][:1]
    community["providers"] = None
    report = await load(sessions, {"communities": [community]})
    assert report.workers == counts(unchanged=1, removed=2)
    assert report.providers == counts(removed=2)
    sizes = await table_sizes(sessions)
    assert (sizes["workers"], sizes["providers"]) == (1, 0)


async def test_a_worker_moves_to_another_community(sessions: Sessions) -> None:
    doc = city_document(20, per_community=10)
    await load(sessions, doc)
    moving = doc["communities"][0]["workers"].pop()
    doc["communities"][1]["workers"].append(moving)
    report = await load(sessions, doc)
    assert report.workers == counts(updated=1, unchanged=5)
    async with sessions() as session:
        worker = await session.get(Worker, moving["id"])
    assert worker is not None
    assert worker.community_id == "c-001"


async def test_terminals_move_swap_and_detach(sessions: Sessions) -> None:
    doc = city_document(4, per_community=10)
    await load(sessions, doc)
    async with sessions.begin() as session:
        terminal = await session.get(Terminal, "T-00000")
        assert terminal is not None
        terminal.battery = 87

    residents = doc["residents"]
    # r0 and r1 swap terminals; r2 gets a new one and its old one is detached
    residents[0]["terminal"], residents[1]["terminal"] = "T-00001", "T-00000"
    residents[2]["terminal"] = "T-NEW"
    report = await load(sessions, doc)
    assert report.terminals == counts(created=1, updated=2, unchanged=1, removed=1)
    assert report.moved_terminals == [
        ("T-00000", "r-00000", "r-00001"),
        ("T-00001", "r-00001", "r-00000"),
    ]
    assert "terminal T-00000 moved from resident r-00000 to r-00001" in str(report)
    assert await terminals(sessions) == {
        "T-00000": "r-00001",
        "T-00001": "r-00000",
        "T-00002": None,
        "T-00003": "r-00003",
        "T-NEW": "r-00002",
    }
    async with sessions() as session:
        moved = await session.get(Terminal, "T-00000")
    # the device keeps what it reported about itself
    assert moved is not None
    assert moved.battery == 87

    # null detaches; a left-out terminal key keeps the terminal
    residents[3]["terminal"] = None
    del residents[0]["terminal"]
    report = await load(sessions, doc)
    assert report.terminals == counts(unchanged=2, removed=1)
    assert (await terminals(sessions))["T-00003"] is None
    assert (await terminals(sessions))["T-00001"] == "r-00000"

    # a terminal taken from a resident the file does not list
    report = await load(
        sessions,
        {"residents": [{**residents[2], "terminal": "T-00001"}]},
    )
    assert report.terminals == counts(updated=1, removed=1)
    assert report.moved_terminals == [("T-00001", "r-00000", "r-00002")]
    assert await terminals(sessions) == {
        "T-00000": "r-00001",
        "T-00001": "r-00002",
        "T-00002": None,
        "T-00003": None,
        "T-NEW": None,
    }
    assert not (
        await load(sessions, {"residents": [{**residents[2], "terminal": "T-00001"}]})
    ).changed


async def test_load_file_reads_yaml_and_reports_every_error(
    sessions: Sessions, tmp_path: Path
) -> None:
    path = tmp_path / "city.yaml"
    doc = city_document(3, per_community=10)
    doc["residents"][1]["birth_year"] = 1831
    doc["residents"][2]["community"] = "c-9"
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CityDataError) as info:
        await load_file(path, sessions, current_year=YEAR)
    lines = text.splitlines()
    errors = info.value.errors
    assert [e.place for e in errors] == [
        "residents[1] (r-00001).birth_year",
        "residents[2] (r-00002).community",
    ]
    assert all(e.line is not None for e in errors)
    assert "birth_year: 1831" in lines[(errors[0].line or 0) - 1]
    assert "community: c-9" in lines[(errors[1].line or 0) - 1]
    assert str(errors[0]).startswith(f"line {errors[0].line}: residents[1] (r-00001)")
    assert set((await table_sizes(sessions)).values()) == {0}

    path.write_text("residents:\n  - id: r-1\n    name: [unclosed\n", encoding="utf-8")
    with pytest.raises(CityDataError) as info:
        await load_file(path, sessions)
    (error,) = info.value.errors
    assert error.place == "file"
    assert error.message.startswith("is not valid YAML")
    assert error.line == 4

    path.write_bytes(b"residents: [\xff]\n")
    with pytest.raises(CityDataError, match="not UTF-8"):
        await load_file(path, sessions)


async def test_a_generated_city_of_2000_residents(sessions: Sessions, tmp_path: Path) -> None:
    path = tmp_path / "city.yaml"
    doc = city_document(2000)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")

    report = await load_file(path, sessions, current_year=YEAR)
    assert report.residents == counts(created=2000)
    assert report.contacts == counts(created=4000)
    assert report.terminals == counts(created=2000)
    assert report.workers == counts(created=60)

    # the second time everything is compared, nothing written (how long a city takes
    # to load is measured by hand: no test asserts a duration)
    again = await load_file(path, sessions, current_year=YEAR)
    assert not again.changed
    assert again.contacts == counts(unchanged=4000)

    # one change among thousands is found and written alone
    doc["residents"][1234]["contacts"][1]["phone"] = "+8613512345678"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    third = await load_file(path, sessions, current_year=YEAR)
    assert third.contacts == counts(updated=1, unchanged=3999)
    assert third.residents == counts(unchanged=2000)
    assert (await contacts_of(sessions, "r-01234"))[1][2] == "+8613512345678"


@pytest.mark.parametrize(
    ("changed", "rows_before", "stale"),
    [
        (51, -1.0, True),  # never counted: a first load of more than autovacuum's 50
        (50, -1.0, False),
        (150, 1000.0, False),  # 50 + a tenth of 1,000
        (151, 1000.0, True),
        (1, 100_000.0, False),  # a dashboard's edit of one resident
    ],
)
def test_a_load_reads_the_statistics_of_the_tables_it_changed_much(
    changed: int, rows_before: float, stale: bool
) -> None:
    report = LoadReport(residents=counts(created=changed))
    assert stale_after(report, {"residents": rows_before}) == (["residents"] if stale else [])
    # SQLite: no rows known, nothing to analyze
    assert stale_after(report, {}) == []


async def test_after_a_city_load_postgresql_plans_for_the_tables_as_loaded(pg_url: str) -> None:
    """A first load's tables had no statistics: until autovacuum came by (never, where
    it is off) the planner took them for empty and the engine's lookup of 100 residents'
    contacts scanned every contact. The load counts them itself."""
    engine = create_engine(pg_url)
    try:
        sessions = session_factory(engine)
        await load(sessions, city_document(300))
        async with sessions() as session:
            known: dict[str, float] = dict(
                (
                    await session.execute(
                        text(
                            "SELECT relname, reltuples FROM pg_class WHERE relname IN "
                            "('residents', 'contacts', 'terminals')"
                        )
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    assert known == {"residents": 300, "contacts": 600, "terminals": 300}
