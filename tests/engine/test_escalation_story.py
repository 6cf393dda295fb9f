"""Escalation as an operator would tell it, on SQLite and PostgreSQL, with the clock
moved by hand: a press at 03:00 that nobody takes, one taken during step 2, and a
community with nobody on the night shift."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from dispatcher.app import Service
from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.rules.escalation import EXHAUSTED_STEP
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

OPS = "operators"
NIGHT = "worker:w-night"


def step(round_: int, index: int, *recipients_channels: tuple[str, str]) -> list[Sent]:
    return [Sent(round_, index, r, c) for r, c in recipients_channels]


async def press_sos(prefix: str, device: str) -> None:
    async with raw_peer(MOSQUITTO, prefix) as peer:
        await peer.publish(device, "event", event("sos-at-3"))
        _, ack = await peer.next_ack()
        assert ack["result"] == "accepted"


async def test_nobody_answers_at_3am_and_the_chain_runs_to_the_supervisors(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    clock = ManualClock(AT_3AM)
    async with running(settings_for(db_url), clock=clock) as service:
        city = await seed_city(service.sessions)
        await add_user(service, "boss", Role.SUPERVISOR, phone="+8613700000001")
        await press_sos(topic_prefix, city.terminals[0])

        # +0: the operators' queue
        await wait_for(lambda: outbox(service))
        assert await outbox(service) == step(0, 0, (OPS, "dashboard"))
        contact1, contact2 = "contact:1", "contact:2"  # ids of r-0001's contacts

        story = [
            # (seconds after the previous step, what is queued then)
            (60, step(0, 1, (NIGHT, "sms"), (NIGHT, "voice"))),
            (120, step(0, 2, (contact1, "voice"), (contact1, "sms"))),
            (
                120,
                step(
                    0,
                    3,
                    (contact1, "sms"),
                    (contact1, "voice"),
                    (contact2, "sms"),
                    (contact2, "voice"),
                ),
            ),
            (300, step(1, 0, (OPS, "dashboard"))),
            (60, step(1, 1, (NIGHT, "sms"), (NIGHT, "voice"))),
            (120, step(1, 2, (contact1, "voice"), (contact1, "sms"))),
            (
                120,
                step(
                    1,
                    3,
                    (contact1, "sms"),
                    (contact1, "voice"),
                    (contact2, "sms"),
                    (contact2, "voice"),
                ),
            ),
            (
                300,
                step(
                    1, EXHAUSTED_STEP, ("supervisor:boss", "dashboard"), ("supervisor:boss", "sms")
                ),
            ),
        ]
        expected = await outbox(service)
        for wait_s, queued in story:
            clock.advance(wait_s - 1)
            # one second early: nothing more may fire, even on a pass of our own
            await service.engine.run_once()
            assert await outbox(service) == expected
            clock.advance(1)
            expected = expected + queued
            try:
                await wait_for(lambda e=expected: _equal(service, e))
            except TimeoutError:
                alarm = await only_alarm(service)
                state = (alarm.step, alarm.round, alarm.next_step_at, clock.now())
                assert await outbox(service) == expected, state

        alarm = await only_alarm(service)
        assert alarm.status == "open"
        assert alarm.escalation_exhausted
        kinds = await timeline_kinds(service, alarm.id)
        decisions = [k for k in kinds if not k.startswith("notification_")]
        assert decisions.count("step_fired") == 8
        assert decisions[-1] == "exhausted"
        # every recipient once per (step, round, channel): the unique key held
        everything = await outbox(service)
        assert len(everything) == len(set(everything))


async def _equal(service: Service, expected: list[Sent]) -> bool:
    return await outbox(service) == expected


async def test_an_ack_during_step_2_stops_the_chain_and_tells_the_terminal(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    clock = ManualClock(AT_3AM)
    async with running(settings_for(db_url), clock=clock, http=True) as service:
        city = await seed_city(service.sessions)
        await add_user(service, "op1", Role.OPERATOR)
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            await peer.publish(city.terminals[0], "event", event("sos-1"))
            assert (await peer.next_ack())[1]["result"] == "accepted"
            await wait_for(lambda: outbox(service))  # step 0 fired before time moves
            clock.advance(60)
            await wait_for(lambda: _has(service, Sent(0, 1, NIGHT, "voice")))
            clock.advance(120)  # step 2: contact 1 is being called
            await wait_for(lambda: _has(service, Sent(0, 2, "contact:1", "voice")))
            alarm = await only_alarm(service)

            async with (
                api_client(service, "op1") as client,
                client.post(f"/api/alarms/{alarm.id}/ack") as response,
            ):
                assert response.status == 200, await response.text()
                body = await response.json()
            assert (body["status"], body["acknowledged_by"], body["step"]) == (
                "acknowledged",
                "op1",
                2,
            )
            device, command = await peer.next_command()
            assert device == city.terminals[0]
            assert command["type"] == "help_coming"
            assert command["alarm_id"] == str(alarm.id)

        before = await outbox(service, purpose="step")
        for _ in range(6):  # well past every later step of both rounds
            clock.advance(300)
            # a pass of our own, after the clock moved (passes are idempotent)
            await service.engine.run_once()
        assert await outbox(service, purpose="step") == before
        assert all(s.step <= 2 for s in before)
        kinds = await timeline_kinds(service, alarm.id)
        assert "ack" in kinds
        assert kinds.count("step_fired") == 3


async def test_nobody_on_the_night_shift_skips_that_step_at_once(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    clock = ManualClock(AT_3AM)
    async with running(settings_for(db_url), clock=clock) as service:
        city = await seed_city(service.sessions, night_worker=False)
        await press_sos(topic_prefix, city.terminals[0])
        await wait_for(lambda: outbox(service))
        clock.advance(60)
        # the day worker is off at 03:00: contact 1 is called at +60 s, not +180 s
        await wait_for(lambda: _has(service, Sent(0, 2, "contact:1", "voice")))
        assert not [s for s in await outbox(service) if s.recipient.startswith("worker:")]
        alarm = await only_alarm(service)
        assert alarm.step == 2
        kinds = [k for k in await timeline_kinds(service, alarm.id) if k.startswith("step_")]
        assert kinds == ["step_fired", "step_skipped", "step_fired"]


async def test_a_restart_mid_escalation_resumes_on_time_without_requeueing(
    db_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    clock = ManualClock(AT_3AM)
    settings = settings_for(db_url)
    async with running(settings, clock=clock) as service:
        city = await seed_city(service.sessions)
        await press_sos(topic_prefix, city.terminals[0])
        await wait_for(lambda: outbox(service))
        clock.advance(60)
        await wait_for(lambda: _has(service, Sent(0, 1, NIGHT, "voice")))
        before = await outbox(service)
    clock.advance(100)  # the dispatcher is down for 100 s of step 1's 120 s wait

    async with running(settings, clock=clock) as service:
        await service.engine.run_once()
        assert await outbox(service) == before  # nothing queued again, nothing early
        clock.advance(20)
        await wait_for(lambda: _has(service, Sent(0, 2, "contact:1", "voice")))
        after = await outbox(service)
        assert after[: len(before)] == before
        assert len(after) == len(set(after))


async def _has(service: Service, sent: Sent) -> bool:
    return sent in await outbox(service)
