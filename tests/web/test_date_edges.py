"""Dates at the edges of the calendar and ids past the database's are refused before
anything is answered (they once gave 500s, and a CSV export cut off after its audit
line): 400 naming the field, 404 for a notification id that names nothing. On both
databases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from dispatcher.config import Settings
from dispatcher.store.models import AuditEntry
from dispatcher.users.accounts import Role
from harness.city import seed_city
from tests.web.helpers import bearer, web_only

SettingsFor = Callable[..., Settings]
TWILIO_TOKEN = "a-twilio-auth-token"


async def test_dates_past_the_calendar_are_refused_naming_the_field(
    db_url: str, settings_for: SettingsFor
) -> None:
    async with web_only(settings_for(db_url)) as w:
        await seed_city(w.sessions, residents=1)
        await w.add_user("boss", Role.ADMIN)
        headers = {"Authorization": f"Bearer {await bearer(w.client, 'boss')}"}
        for path, field in (
            ("/api/alarms?status=all&to=9999-12-31", "to"),
            ("/api/alarms?status=all&from=0001-01-01", "from"),
            ("/api/alarms?from=0001-01-01&to=9999-12-31", "from"),
            ("/api/reports/daily?from=0001-01-01&to=0001-01-02", "from"),
            ("/api/reports/daily?to=9999-12-31", "to"),
            ("/api/alarms.csv?to=9999-12-31", "to"),
        ):
            async with w.client.get(path, headers=headers) as response:
                body: Any = await response.json()
                assert response.status == 400, (path, body)
                assert body["errors"][0]["field"] == field, (path, body)
        # the refused export wrote no audit line: nothing was exported
        async with w.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 0
        # the last days that can be named are answered, in full
        for path in (
            "/api/alarms?status=all&from=1900-01-01&to=9999-12-30",
            "/api/reports/daily?from=9999-12-30",
            "/api/reports/daily?from=1900-01-01&to=1900-01-02",
        ):
            async with w.client.get(path, headers=headers) as response:
                assert response.status == 200, (path, await response.text())
        async with w.client.get("/api/alarms.csv?to=9999-12-30", headers=headers) as response:
            assert response.status == 200
            text = await response.text()
            assert text.startswith("\ufeff")
            assert text.endswith("\r\n")
        async with w.client.put(
            "/api/residents/r-0001/checkin", json={"paused_until": "9999-12-31"}, headers=headers
        ) as response:
            body = await response.json()
            assert (response.status, body["errors"][0]["field"]) == (422, "paused_until")


async def test_a_signed_callback_for_an_id_past_the_database_is_not_found(
    db_url: str, settings_for: SettingsFor
) -> None:
    settings = settings_for(
        db_url,
        notifications={
            "public_url": "http://dispatch.test",
            "twilio": {"auth_token": TWILIO_TOKEN},
        },
    )
    async with web_only(settings) as w:
        for nid in ("99999999999999999999999", str(2**63), "0", "-5"):
            for hook in ("status", "voice", "gather"):
                path = f"/twilio/{hook}/{nid}"
                form = {"CallSid": "CA" + "0" * 32, "CallStatus": "completed", "Digits": "1"}
                signature = RequestValidator(TWILIO_TOKEN).compute_signature(
                    "http://dispatch.test" + path, form
                )
                async with w.client.post(
                    path, data=form, headers={"X-Twilio-Signature": signature}
                ) as response:
                    assert response.status == 404, (path, await response.text())
