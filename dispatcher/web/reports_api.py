"""`GET /api/reports/daily` (docs/daily-care.md): the rows of `dispatcher report` as JSON."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from dispatcher.rules import reports as rules
from dispatcher.views import reports as store
from dispatcher.web.errors import json_error
from dispatcher.web.operations import Reply, given
from dispatcher.web.schemas.base import LAST_DAY
from dispatcher.web.schemas.reports import ReportQuery
from dispatcher.web.state import DEPS


async def daily(request: web.Request) -> Reply:
    query = given(request, ReportQuery)
    deps = request.app[DEPS]
    now, tz = deps.clock.now(), deps.settings.city.tz
    last = query.to or (
        # a week from `from`, but never past the last day a query may name
        query.from_ + timedelta(days=min(6, (LAST_DAY - query.from_).days))
        if query.from_
        else now.astimezone(tz).date()
    )
    first = query.from_ or last - timedelta(days=6)
    async with deps.sessions() as session:
        if query.community is not None and not await store.community_ids(
            session=session, community=query.community
        ):
            return json_error(404, f"no community {query.community}")
        rows = await store.daily_report(
            session=session, first=first, last=last, tz=tz, now=now, community=query.community
        )
    return [rules.json_values(row) for row in rows]
