"""Daily check-ins over HTTP (docs/daily-care.md): today's list for a community's workers, and
a resident's window and pause, set by supervisors."""

from __future__ import annotations

from aiohttp import web

from dispatcher.city_file.edits import set_checkin
from dispatcher.store.audit import AuditAction
from dispatcher.store.changes import Changes
from dispatcher.views import checkins
from dispatcher.web import audit_api
from dispatcher.web.auth import principal
from dispatcher.web.errors import json_error
from dispatcher.web.operations import Reply, given
from dispatcher.web.schemas.base import ResidentPath
from dispatcher.web.schemas.checkins import CheckinEdit, CheckinsQuery
from dispatcher.web.state import DEPS


async def today(request: web.Request) -> Reply:
    deps = request.app[DEPS]
    community = given(request, CheckinsQuery).community
    async with deps.sessions() as session:
        found = await checkins.today(
            session=session, now=deps.clock.now(), tz=deps.settings.city.tz, community_id=community
        )
    return [checkins.today_json(item) for item in found]


async def put_checkin(request: web.Request) -> Reply:
    """Set the window and the pause; the answer is the resident's check-in as it stands."""
    deps = request.app[DEPS]
    resident_id = given(request, ResidentPath).resident_id
    sent = given(request, CheckinEdit)
    now = deps.clock.now()
    async with deps.sessions.begin() as session:
        resident = await set_checkin(
            session=session, resident_id=resident_id, fields=sent.model_dump(exclude_unset=True)
        )
        if resident is None:
            return json_error(404, f"no resident {resident_id}")
        # which fields changed, never their values (a pause's reason may be medical)
        session.add(
            audit_api.line(
                request,
                AuditAction.EDIT_CHECKIN,
                resident_id=resident_id,
                community_id=resident.community_id,
                detail={"fields": sorted(sent.model_fields_set)},
            )
        )
        body = checkins.checkin_json(
            resident, checkins.checkin_today(resident, now=now, tz=deps.settings.city.tz)
        )
    request.app.logger.info(
        "check-in of resident %s set by %s: %s",
        resident_id,
        principal(request).username,
        sent.model_dump(exclude_unset=True, mode="json"),
    )
    deps.told(Changes(terminals=True))  # the engine sets a new window's deadline at once
    return body
