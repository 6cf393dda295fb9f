"""What operators and residents do to an alarm: resolve, cancel, and the supervisors'
alert when a taken alarm is left unresolved."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.rules.escalation import ACK_OVERDUE_STEP
from dispatcher.users.accounts import Role
from harness.city import seed_city
from harness.mqtt import event, raw_peer, wait_for
from harness.service import (
    Sent,
    add_user,
    api_client,
    only_alarm,
    outbox,
    running,
    timeline_kinds,
)

MOSQUITTO = ("127.0.0.1", 1883)
SettingsFor = Callable[..., Settings]
AT_3AM = datetime(2026, 11, 27, 3, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


async def test_a_taken_alarm_closed_tells_the_terminal_both(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    async with running(settings_for(db_url), http=True) as service:
        city = await seed_city(service.sessions)
        await add_user(service, "op1", Role.OPERATOR)
        async with raw_peer(MOSQUITTO, topic_prefix) as peer, api_client(service, "op1") as api:
            await peer.publish(city.terminals[0], "event", event("sos-t"))
            assert (await peer.next_ack())[1]["result"] == "accepted"
            alarm = await only_alarm(service)
            async with api.post(f"/api/alarms/{alarm.id}/ack") as taken:
                assert taken.status == 200
            assert (await peer.next_command())[1]["type"] == "help_coming"
            async with api.post(
                f"/api/alarms/{alarm.id}/resolve", json={"outcome": "help_given"}
            ) as closed:
                assert closed.status == 200
            assert (await peer.next_command())[1]["type"] == "alarm_closed"


async def test_resolving_closes_the_alarm_and_tells_the_terminal(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    async with running(settings_for(db_url), http=True) as service:
        city = await seed_city(service.sessions)
        await add_user(service, "op1", Role.OPERATOR)
        async with raw_peer(MOSQUITTO, topic_prefix) as peer, api_client(service, "op1") as api:
            await peer.publish(city.terminals[0], "event", event("sos-r"))
            assert (await peer.next_ack())[1]["result"] == "accepted"
            alarm = await only_alarm(service)
            async with api.post(
                f"/api/alarms/{alarm.id}/resolve", json={"outcome": "teleported"}
            ) as bad:
                assert bad.status == 422
                assert "help_given" in (await bad.json())["error"]
            async with api.post(
                f"/api/alarms/{alarm.id}/resolve",
                json={"outcome": "ambulance_called", "note": "120 已到达"},
            ) as response:
                assert response.status == 200
                body = await response.json()
            assert (body["status"], body["outcome"]) == ("resolved", "ambulance_called")
            _, command = await peer.next_command()
            assert command["type"] == "alarm_closed"
            async with api.post(f"/api/alarms/{alarm.id}/ack") as again:
                assert again.status == 409
            async with api.get(f"/api/alarms/{alarm.id}") as detail:
                kinds = [row["kind"] for row in (await detail.json())["timeline"]]
        assert kinds[:2] == ["device_event", "alarm_opened"]
        assert "resolve" in kinds


async def test_a_cancel_marks_the_emergency_for_an_operator(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    async with running(settings_for(db_url)) as service:
        city = await seed_city(service.sessions)
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            await peer.publish(city.terminals[0], "event", event("sos-c"))
            await peer.publish(city.terminals[0], "event", event("cancel-c", type_="cancel"))
            results = [(await peer.next_ack())[1]["result"] for _ in range(2)]
        assert results == ["accepted", "accepted"]
        alarm = await only_alarm(service)
        assert alarm.status == "open"
        assert alarm.cancel_requested_at is not None
        assert "cancel_requested" in await timeline_kinds(service, alarm.id)


async def test_a_cancel_closes_the_emergency_when_configured(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    settings = settings_for(db_url, alarms={"cancel_closes_emergency": True})
    async with running(settings) as service:
        city = await seed_city(service.sessions)
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            await peer.publish(city.terminals[0], "event", event("sos-c2"))
            assert (await peer.next_ack())[1]["result"] == "accepted"
            await peer.publish(city.terminals[0], "event", event("cancel-c2", type_="cancel"))
            assert (await peer.next_ack())[1]["result"] == "accepted"
        alarm = await only_alarm(service)
        assert (alarm.status, alarm.outcome) == ("resolved", "false_alarm")


async def test_taken_but_not_resolved_in_time_alerts_the_supervisors_once(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    clock = ManualClock(AT_3AM)
    settings = settings_for(db_url, alarms={"ack_timeout_s": 1800})
    async with running(settings, clock=clock, http=True) as service:
        city = await seed_city(service.sessions)
        await add_user(service, "op1", Role.OPERATOR)
        await add_user(service, "boss", Role.SUPERVISOR, phone="+8613700000001")
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            await peer.publish(city.terminals[0], "event", event("sos-late"))
            assert (await peer.next_ack())[1]["result"] == "accepted"
        await wait_for(lambda: outbox(service))
        alarm = await only_alarm(service)
        async with api_client(service, "op1") as api, api.post(f"/api/alarms/{alarm.id}/ack"):
            pass
        clock.advance(1799)
        await service.engine.run_once()
        assert await outbox(service, purpose="ack_overdue") == []
        clock.advance(1)
        await wait_for(lambda: outbox(service, purpose="ack_overdue"))
        expected = [
            Sent(0, ACK_OVERDUE_STEP, "supervisor:boss", "dashboard"),
            Sent(0, ACK_OVERDUE_STEP, "supervisor:boss", "sms"),
        ]
        assert await outbox(service, purpose="ack_overdue") == expected
        clock.advance(3600)
        await service.engine.run_once()
        assert await outbox(service, purpose="ack_overdue") == expected
        assert "ack_overdue" in await timeline_kinds(service, alarm.id)


async def test_a_service_request_taken_hours_ago_alerts_nobody(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    """A service request waits on a provider for hours by design: taken and not closed
    after 30 minutes is no sign of trouble; the emergency beside it still alerts, and
    its timeline line says what happened in codes the catalog words."""
    clock = ManualClock(AT_3AM)
    settings = settings_for(db_url, alarms={"ack_timeout_s": 1800})
    async with running(settings, clock=clock, http=True) as service:
        city = await seed_city(service.sessions)
        await add_user(service, "op1", Role.OPERATOR)
        await add_user(service, "boss", Role.SUPERVISOR, phone="+8613700000001")
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            await peer.publish(city.terminals[0], "event", event("svc-late", type_="service"))
            assert (await peer.next_ack())[1]["result"] == "accepted"
        service_request = await only_alarm(service)
        async with api_client(service, "op1") as api:
            async with api.post(f"/api/alarms/{service_request.id}/ack") as taken:
                assert taken.status == 200
            async with raw_peer(MOSQUITTO, topic_prefix) as peer:
                await peer.publish(city.terminals[1], "event", event("sos-late2"))
                assert (await peer.next_ack())[1]["result"] == "accepted"
            async with api.get("/api/alarms?kind=emergency") as found:
                emergency = (await found.json())[0]["id"]
            async with api.post(f"/api/alarms/{emergency}/ack") as taken:
                assert taken.status == 200
        clock.advance(3 * 3600)
        await wait_for(lambda: outbox(service, purpose="ack_overdue"))
        await service.engine.run_once()
        assert "ack_overdue" not in await timeline_kinds(service, service_request.id)
        assert "ack_overdue" in await timeline_kinds(service, emergency)
