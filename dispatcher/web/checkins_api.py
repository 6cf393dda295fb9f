"""Daily check-ins over HTTP (docs/daily-care.md): today's list for a community's workers, and
a resident's window and pause, set by supervisors. The reason of a pause is health data
(a hospital stay): read as the medical notes are, audited, never logged."""

from __future__ import annotations

from aiohttp import web

from dispatcher.city_file.edits import set_checkin
from dispatcher.rules.access import may_read_medical
from dispatcher.store.audit import AuditAction
from dispatcher.store.changes import Changes
from dispatcher.views import checkins
from dispatcher.views.residents import has_unresolved_alarms
from dispatcher.web import audit_api
from dispatcher.web.auth import principal, sessions_of
from dispatcher.web.errors import json_error
from dispatcher.web.operations import Reply, given
from dispatcher.web.schemas.base import ResidentPath
from dispatcher.web.schemas.checkins import CheckinEdit, CheckinsQuery
from dispatcher.web.state import DEPS


async def today(request: web.Request) -> Reply:
    """Today's list. A pause's reason is health data: shown as the medical notes are
    (`dispatcher.rules.access`: an operator only for a resident with an alarm not
    resolved), and each one shown is a line of the audit log, as a card's view is."""
    deps = request.app[DEPS]
    community = given(request, CheckinsQuery).community
    role = principal(request).role.value
    async with sessions_of(request).begin() as session:
        found = await checkins.today(
            session=session, now=deps.clock.now(), tz=deps.settings.city.tz, community_id=community
        )
        lines = [checkins.today_json(item) for item in found]
        with_reason = [line for line in lines if line["pause_reason"]]
        busy = await has_unresolved_alarms(
            session=session, resident_ids={line["resident_id"] for line in with_reason}
        )
        for line in with_reason:
            if may_read_medical(role, resident_has_unresolved_alarm=line["resident_id"] in busy):
                session.add(
                    audit_api.line(
                        request,
                        AuditAction.VIEW_PAUSE_REASON,
                        resident_id=line["resident_id"],
                        community_id=line["community_id"],
                    )
                )
            else:
                line["pause_reason"] = None
                line["pause_reason_withheld"] = True
    return lines


async def put_checkin(request: web.Request) -> Reply:
    """Set the window and the pause; the answer is the resident's check-in as it stands."""
    deps = request.app[DEPS]
    resident_id = given(request, ResidentPath).resident_id
    sent = given(request, CheckinEdit)
    now = deps.clock.now()
    async with sessions_of(request).begin() as session:
        resident = await set_checkin(
            session=session,
            resident_id=resident_id,
            fields=sent.model_dump(exclude_unset=True),
            now=now,
            tz=deps.settings.city.tz,
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
    # the values of window and pause, never the reason's (health data): only that one
    # was given
    logged = sent.model_dump(exclude_unset=True, exclude={"reason"}, mode="json")
    if "reason" in sent.model_fields_set:
        logged["reason"] = "(given)" if sent.reason else None
    request.app.logger.info(
        "check-in of resident %s set by %s: %s", resident_id, principal(request).username, logged
    )
    deps.told(Changes(terminals=True))  # the engine looks at the new deadline
    return body
