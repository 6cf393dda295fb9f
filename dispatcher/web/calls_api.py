"""`POST /api/alarms/{id}/call` (docs/api.md): the voice provider rings the operator's
own phone, then connects the resident, a contact, a worker or a provider.

The call and its first timeline line are committed before the provider is asked, so
that its reports find the call whenever they come; a provider that refuses it is said
in the timeline and in the answer. Placed here, not through the outbox: the operator
waits with the phone in hand, and a call retried minutes later would help nobody.
"""

from __future__ import annotations

import logging

from aiohttp import web

from dispatcher.phones import calls
from dispatcher.phones.bridge import BridgeCall, NotificationError
from dispatcher.store.changes import Changes
from dispatcher.web import i18n
from dispatcher.web.auth import principal, sessions_of
from dispatcher.web.errors import json_error
from dispatcher.web.operations import Reply, given
from dispatcher.web.schemas.base import AlarmPath
from dispatcher.web.schemas.calls import CallRequest
from dispatcher.web.state import DEPS

log = logging.getLogger("dispatcher.calls")


async def call(request: web.Request) -> Reply:
    alarm_id = given(request, AlarmPath).alarm_id
    target = given(request, CallRequest).to
    deps = request.app[DEPS]
    bridge = deps.bridge
    if bridge is None:
        return json_error(503, i18n.text(request, "call.no_provider"))
    now = deps.clock.now()
    try:
        async with sessions_of(request).begin() as session:
            row = await calls.open_call(
                session=session,
                alarm_id=alarm_id,
                operator=principal(request).username,
                target=target,
                language=i18n.lang_of(request),
                provider=bridge.name,
                now=now,
            )
            body = calls.call_json(row)
            asked = BridgeCall(
                row.id, alarm_id, row.operator_phone, row.target_phone, row.target_name
            )
    except calls.CallRefusedError as exc:
        return json_error(exc.status, i18n.text(request, exc.key, **exc.values))
    deps.told(Changes(alarms=[alarm_id]))
    try:
        sid = await bridge.connect(asked)
    except NotificationError as exc:
        log.warning("call %d refused by %s: %s", asked.call_id, bridge.name, exc)
        async with sessions_of(request).begin() as session:
            await calls.failed(session=session, call_id=asked.call_id, error=str(exc), now=now)
        deps.told(Changes(alarms=[alarm_id]))
        return json_error(502, i18n.text(request, "call.provider_failed", msg=str(exc)))
    async with sessions_of(request).begin() as session:
        await calls.placed(session=session, call_id=asked.call_id, sid=sid)
        now_placed = await calls.get(session=session, call_id=asked.call_id)
        if now_placed is not None:
            body = calls.call_json(now_placed)
    return body
