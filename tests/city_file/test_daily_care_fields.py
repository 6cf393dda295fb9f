"""A resident's daily-care fields in the city file (docs/daily-care.md): `checkin:` (window,
pause, reason), `service_default:` and `phone:`, checked with their place, loaded on
both databases, and kept when a row leaves them out (a file of addresses, a dashboard
edit of the card must not clear a window the API set)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.city_file.check import check_city
from dispatcher.city_file.load import load_city
from dispatcher.city_file.read import read_yaml
from dispatcher.city_file.rows import CheckinRow
from dispatcher.store.models import Resident

Sessions = async_sessionmaker[AsyncSession]


def document(**resident: Any) -> dict[str, Any]:
    return {
        "communities": [
            {"id": "kq", "name": "康桥社区", "street": "纬北路街道", "district": "天桥区"}
        ],
        "residents": [
            {"id": "r-1", "name": "王秀英", "community": "kq", "address": "纬北路12号", **resident}
        ],
    }


def test_the_fields_are_read() -> None:
    text = """
communities: [{id: kq, name: 康桥社区, street: 纬北路街道, district: 天桥区}]
residents:
  - id: r-1
    name: 王秀英
    community: kq
    address: 纬北路12号
    phone: "+8613912345678"
    service_default: meals
    checkin: {window: "22:00-01:00", paused_until: 2026-12-05, reason: 住院}
"""
    data, errors = check_city(read_yaml(text), current_year=2026)
    assert errors == []
    [r] = data.residents
    assert (r.phone, r.service_default) == ("+8613912345678", "meals")
    assert r.checkin == CheckinRow("22:00-01:00", date(2026, 12, 5), "住院")
    assert r.given == {"phone", "service_default", "checkin"}


@pytest.mark.parametrize(
    ("fields", "place", "says"),
    [
        ({"checkin": {"window": "7:00-10:00"}}, "checkin.window", "HH:MM-HH:MM"),
        ({"checkin": {"window": "10:00-10:00"}}, "checkin.window", "starts when it ends"),
        ({"checkin": {"paused_until": "next week"}}, "checkin.paused_until", "a date like"),
        ({"checkin": {"windows": "07:00-10:00"}}, "checkin", "did you mean 'window'"),
        ({"checkin": "07:00-10:00"}, "checkin", "must be a mapping"),
        ({"service_default": "meal service"}, "service_default", "bad id"),
        ({"phone": "12345"}, "phone", "E.164"),
    ],
)
def test_wrong_ones_are_named_by_place(fields: dict[str, Any], place: str, says: str) -> None:
    _, errors = check_city(document(**fields), current_year=2026)
    assert [e.place for e in errors] == [f"residents[0] (r-1).{place}"]
    assert says in errors[0].message


async def stored(sessions: Sessions) -> Resident:
    async with sessions() as session:
        return await session.get_one(Resident, "r-1")


async def load(sessions: Sessions, doc: dict[str, Any]) -> None:
    async with sessions.begin() as session:
        await load_city(session=session, document=doc, current_year=2026)


async def test_given_they_replace_left_out_they_stay(sessions: Sessions) -> None:
    await load(
        sessions,
        document(
            checkin={"window": "07:00-10:00", "paused_until": "2026-12-05", "reason": "住院"},
            service_default="meals",
            phone="+8613912345678",
        ),
    )
    r = await stored(sessions)
    assert (r.checkin_window, r.checkin_paused_until, r.checkin_pause_reason) == (
        "07:00-10:00",
        date(2026, 12, 5),
        "住院",
    )
    assert (r.service_default, r.phone, r.checkin_due_at) == ("meals", "+8613912345678", None)

    # the engine gave the window its deadline; a file that leaves the fields out keeps both
    due = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    async with sessions.begin() as session:
        (await session.get_one(Resident, "r-1")).checkin_due_at = due
    await load(sessions, document(address="纬北路14号"))
    r = await stored(sessions)
    assert (r.address, r.checkin_window, r.service_default, r.checkin_due_at) == (
        "纬北路14号",
        "07:00-10:00",
        "meals",
        due,
    )
    # the same window again keeps its deadline; a new one is given another by the engine
    await load(sessions, document(checkin={"window": "07:00-10:00"}))
    assert (await stored(sessions)).checkin_due_at == due
    await load(sessions, document(checkin={"window": "08:00-11:00"}))
    r = await stored(sessions)
    assert (r.checkin_window, r.checkin_paused_until, r.checkin_due_at) == (
        "08:00-11:00",
        None,
        None,
    )

    await load(sessions, document(checkin=None, service_default=None, phone=None))
    r = await stored(sessions)
    assert (r.checkin_window, r.service_default, r.phone) == (None, None, None)
