"""Residents and community workers: search and cards for every user; editing for
administrators (the role is in `dispatcher.web.routes`), checked by the rules of
`dispatcher load` (422 lists every problem)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from dispatcher.city_file import edits
from dispatcher.city_file.rows import CityDataError
from dispatcher.store.audit import AuditAction
from dispatcher.store.changes import Changes
from dispatcher.store.models import Alarm, Resident
from dispatcher.views import residents
from dispatcher.web import audit_api
from dispatcher.web.auth import principal, sessions_of
from dispatcher.web.errors import invalid, json_error
from dispatcher.web.operations import Reply, given
from dispatcher.web.schemas.base import CommunityPath, FieldProblem, ResidentPath
from dispatcher.web.schemas.people import ResidentsQuery
from dispatcher.web.state import DEPS


def _invalid(exc: CityDataError) -> web.Response:
    return web.json_response(
        {"error": "the data breaks the city data rules", "errors": edits.errors_json(exc)},
        status=422,
    )


async def search(request: web.Request) -> Reply:
    q = given(request, ResidentsQuery).q[:100]
    async with sessions_of(request)() as session:
        return await residents.search(session=session, q=q)


async def get_resident(request: web.Request) -> Reply:
    deps = request.app[DEPS]
    hb = deps.settings.heartbeat
    resident_id = given(request, ResidentPath).resident_id
    async with sessions_of(request).begin() as session:
        body = await residents.card(
            session=session,
            resident_id=resident_id,
            now=deps.clock.now(),
            tz=deps.settings.city.tz,
            liveness=(hb.interval_s, hb.offline_after_missed),
        )
        if body is None:
            return json_error(404, f"no resident {resident_id}")
        await audit_api.withhold_medical(request, session, body)
        session.add(
            audit_api.line(
                request,
                AuditAction.VIEW_RESIDENT,
                resident_id=resident_id,
                community_id=body["community"]["id"],
            )
        )
    return body


async def put_resident(request: web.Request) -> Reply:
    """Create or update a resident: the fields of a `residents:` row of the city file;
    a given `contacts` list or `terminal` replaces the stored one."""
    deps = request.app[DEPS]
    resident_id = given(request, ResidentPath).resident_id
    fields: dict[str, Any] = given(request, dict)
    refused = await _outside_scope(request, resident_id, fields.get("community"))
    if refused is not None:
        return refused
    try:
        async with sessions_of(request).begin() as session:
            before = await residents.record_snapshot(session=session, resident_id=resident_id)
            await edits.save_resident(
                session=session,
                resident_id=resident_id,
                fields=fields,
                current_year=deps.clock.now().astimezone(deps.settings.city.tz).year,
            )
            after = await residents.record_snapshot(session=session, resident_id=resident_id)
            changed = sorted(
                k for k, v in (after or {}).items() if before is None or before.get(k) != v
            )
            session.add(
                audit_api.line(
                    request,
                    AuditAction.EDIT_RESIDENT,
                    resident_id=resident_id,
                    community_id=(after or {}).get("community"),
                    detail={"fields": changed, "created": before is None},
                )
            )
            open_alarms = list(
                await session.scalars(
                    select(Alarm.id).where(
                        Alarm.resident_id == resident_id, Alarm.status != "resolved"
                    )
                )
            )
    except CityDataError as exc:
        return _invalid(exc)
    request.app.logger.info("resident %s edited by %s", resident_id, principal(request).username)
    # queue lines show the resident's name and address
    request.app[DEPS].told(Changes(alarms=open_alarms))
    return await get_resident(request)


async def _outside_scope(
    request: web.Request, resident_id: str, community: object
) -> web.Response | None:
    """A scoped administrator edits and creates residents inside the scope only: a
    resident of another part of the city is not found (as everywhere), a move or a new
    resident outside it is refused. (The scoped session alone would not see the other
    resident and try to create it again.)"""
    inside = principal(request).communities
    if inside is None:
        return None
    async with request.app[DEPS].sessions() as session:
        owner = await session.scalar(
            select(Resident.community_id).where(Resident.id == resident_id)
        )
    if owner is not None and owner not in inside:
        return json_error(404, f"no resident {resident_id}")
    if (community is not None or owner is None) and community not in inside:
        problem = FieldProblem(field="community", message="not a community of your scope")
        return invalid(422, [problem])
    return None


async def list_communities(request: web.Request) -> Reply:
    deps = request.app[DEPS]
    async with sessions_of(request)() as session:
        return await residents.communities(
            session=session, now=deps.clock.now(), tz=deps.settings.city.tz
        )


async def put_workers(request: web.Request) -> Reply:
    """Replace a community's workers and their shifts: `{"workers": [...]}` as in the
    city file."""
    deps = request.app[DEPS]
    community_id = given(request, CommunityPath).community_id
    body: dict[str, Any] = given(request, dict)
    if "workers" not in body:
        return invalid(422, [FieldProblem(field="workers", message="a list is required")])
    try:
        async with sessions_of(request).begin() as session:
            report = await edits.save_workers(
                session=session,
                community_id=community_id,
                workers=body["workers"],
                current_year=deps.clock.now().astimezone(deps.settings.city.tz).year,
            )
            if report is not None:
                # null is an empty list, as in the city file
                ids = [w.get("id") for w in body["workers"] or [] if isinstance(w, dict)]
                session.add(
                    audit_api.line(
                        request,
                        AuditAction.EDIT_WORKERS,
                        community_id=community_id,
                        detail={"workers": ids},
                    )
                )
    except CityDataError as exc:
        return _invalid(exc)
    if report is None:
        return json_error(404, f"no community {community_id}")
    return await list_communities(request)
