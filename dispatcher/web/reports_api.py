"""`GET /api/reports/daily` (docs/daily-care.md): the rows of `dispatcher report` as JSON;
`GET /api/reports/summary`: the city against the targets, then its communities."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from aiohttp import web

from dispatcher.config import Settings
from dispatcher.rules import reports as rules
from dispatcher.views import reports as store
from dispatcher.web.auth import sessions_of
from dispatcher.web.errors import json_error
from dispatcher.web.operations import Reply, given
from dispatcher.web.schemas.base import LAST_DAY
from dispatcher.web.schemas.reports import ReportQuery
from dispatcher.web.state import DEPS


def _range(query: ReportQuery, now: datetime, tz: ZoneInfo) -> tuple[date, date]:
    last = query.to or (
        # a week from `from`, but never past the last day a query may name
        query.from_ + timedelta(days=min(6, (LAST_DAY - query.from_).days))
        if query.from_
        else now.astimezone(tz).date()
    )
    return query.from_ or last - timedelta(days=6), last


def targets_of(settings: Settings) -> rules.Targets:
    given_ = settings.reports
    return rules.Targets(
        answer_60=Decimal(str(given_.answer_60_pct)),
        answer_180=Decimal(str(given_.answer_180_pct)),
        attend_45=Decimal(str(given_.attend_45_pct)),
    )


async def summary(request: web.Request) -> Reply:
    """The city against the targets over the range, then its communities, worst first."""
    query = given(request, ReportQuery)
    deps = request.app[DEPS]
    now, tz = deps.clock.now(), deps.settings.city.tz
    first, last = _range(query, now, tz)
    targets = targets_of(deps.settings)
    async with sessions_of(request)() as session:
        if query.community is not None and not await store.community_ids(
            session=session, community=query.community
        ):
            return json_error(404, f"no community {query.community}")
        city, communities = await store.period_report(
            session=session,
            first=first,
            last=last,
            tz=tz,
            now=now,
            targets=targets,
            community=query.community,
        )
    return {
        "first": first.isoformat(),
        "last": last.isoformat(),
        "targets": {
            "answer_60": float(targets.answer_60),
            "answer_180": float(targets.answer_180),
            "attend_45": float(targets.attend_45),
        },
        "city": rules.period_json(city),
        "communities": [rules.period_json(c) for c in communities],
    }


async def daily(request: web.Request) -> Reply:
    query = given(request, ReportQuery)
    deps = request.app[DEPS]
    now, tz = deps.clock.now(), deps.settings.city.tz
    first, last = _range(query, now, tz)
    async with sessions_of(request)() as session:
        if query.community is not None and not await store.community_ids(
            session=session, community=query.community
        ):
            return json_error(404, f"no community {query.community}")
        rows = await store.daily_report(
            session=session, first=first, last=last, tz=tz, now=now, community=query.community
        )
    return [rules.json_values(row) for row in rows]
