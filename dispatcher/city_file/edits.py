"""The dashboard's edits of residents and community workers, made under the same rules as
`dispatcher load`: each edit is turned into a one-row city document and loaded by
`city.load.load_city`, so the dashboard can never store what the city file would refuse
(bad phone, duplicate contact priority, unknown community, unreadable shift)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.city_file.load import LoadReport, load_city
from dispatcher.city_file.rows import CityDataError
from dispatcher.rules import checkins as checkin_rules
from dispatcher.store.models import Community, Resident


async def save_resident(
    *, session: AsyncSession, resident_id: str, fields: dict[str, Any], current_year: int
) -> LoadReport:
    """Create or update one resident (with `contacts` and `terminal` when given) as a
    city file would. Raises `CityDataError` with every problem; nothing is written then."""
    row = {**fields, "id": resident_id}
    return await load_city(
        session=session, document={"residents": [row]}, current_year=current_year
    )


async def save_workers(
    *, session: AsyncSession, community_id: str, workers: object, current_year: int
) -> LoadReport | None:
    """Replace a community's workers and their shifts as a city file would. None when
    there is no such community; `CityDataError` when the list is wrong."""
    community = await session.get(Community, community_id)
    if community is None:
        return None
    document = {
        "communities": [
            {
                "id": community.id,
                "name": community.name,
                "street": community.street,
                "district": community.district,
                "workers": workers,
            }
        ]
    }
    return await load_city(session=session, document=document, current_year=current_year)


def errors_json(exc: CityDataError) -> list[dict[str, Any]]:
    return [{"place": e.place, "message": e.message} for e in exc.errors]


async def set_checkin(
    *, session: AsyncSession, resident_id: str, fields: dict[str, Any], now: datetime, tz: ZoneInfo
) -> Resident | None:
    """Set a resident's window, pause and reason (`fields`: those given, already
    checked). A changed window's first deadline is the first end of it after `now`, the
    change's own time: left to the engine's next pass, a change at 06:59 noticed after
    07:00 would wait for tomorrow's end. None when there is no such resident."""
    resident = await session.get(Resident, resident_id, with_for_update={"key_share": True})
    if resident is None:
        return None
    if "window" in fields and fields["window"] != resident.checkin_window:
        resident.checkin_window = fields["window"]
        window = checkin_rules.readable_window(resident.checkin_window)
        resident.checkin_due_at = checkin_rules.next_end(window, tz, now) if window else None
    if "paused_until" in fields:
        resident.checkin_paused_until = fields["paused_until"]
    if "reason" in fields:
        resident.checkin_pause_reason = fields["reason"]
    return resident
