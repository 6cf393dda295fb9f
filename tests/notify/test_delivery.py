"""When Twilio fails: retried with backoff until it recovers; an invalid number moves
the escalation on at once; an alarm storm does not flood one phone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select, update

from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.store.models import Contact, EventLog, Notification
from harness.city import seed_city
from harness.mqtt import event, raw_peer, wait_for
from harness.service import running
from simulators.twilio.standin import TwilioStandIn
from tests.notify.conftest import AT_3AM, NIGHT_WORKER, PhoneCity, contact_phone
from tests.notify.test_phone_story import numbers_texted, press


async def statuses(pc: PhoneCity, phone: str) -> list[tuple[str, str, int]]:
    async with pc.service.sessions() as session:
        rows = await session.execute(
            select(Notification.channel, Notification.status, Notification.attempts)
            .where(Notification.phone == phone)
            .order_by(Notification.id)
        )
        return [(c, s, a) for c, s, a in rows]


def api_statuses(pc: PhoneCity, phone: str) -> list[int]:
    return [r.status for r in pc.standin.requests if r.get("To") == phone]


async def test_twilio_500_is_retried_with_backoff_until_it_recovers(phone_city: PhoneCity) -> None:
    pc = phone_city
    await press(pc, pc.city.terminals[0], "sos-500")
    pc.standin.fail_next(2, status=500)
    pc.clock.advance(60)
    await wait_for(lambda: api_statuses(pc, NIGHT_WORKER) == [500, 500])
    # both back in the queue with a backoff, nothing given up
    await wait_for(lambda: _all(pc, NIGHT_WORKER, "pending", attempts=1))
    pc.clock.advance(1)  # not yet: the first backoff is 2 s
    await pc.service.notifier.run_once()
    assert api_statuses(pc, NIGHT_WORKER) == [500, 500]
    pc.clock.advance(1)
    await wait_for(lambda: sorted(api_statuses(pc, NIGHT_WORKER)) == [201, 201, 500, 500])
    await wait_for(lambda: _all(pc, NIGHT_WORKER, "delivered", "sent", attempts=2))


async def last_errors(pc: PhoneCity, phone: str) -> list[str | None]:
    async with pc.service.sessions() as session:
        return list(
            await session.scalars(
                select(Notification.last_error).where(Notification.phone == phone)
            )
        )


async def in_doubt(pc: PhoneCity, phone: str) -> bool:
    async with pc.service.sessions() as session:
        found = list(
            await session.scalars(
                select(Notification.doubted_at).where(
                    Notification.phone == phone, Notification.status == "pending"
                )
            )
        )
    return len(found) == 2 and all(d is not None for d in found)


@pytest.mark.twilio_timeout_s(1.0)
async def test_a_stalled_twilio_that_sent_it_anyway_is_not_sent_twice(
    phone_city: PhoneCity,
) -> None:
    """Twilio answers after our 1 s (the message and the call made all the same): the
    sends are in doubt, Twilio's reports say they went, and nothing goes again."""
    pc = phone_city
    await press(pc, pc.city.terminals[0], "sos-slow")
    pc.standin.delay_next(2, seconds=3.0)
    pc.clock.advance(60)
    # the stand-in creates both once its stall ends, and reports on them
    await wait_for(lambda: api_statuses(pc, NIGHT_WORKER) == [201, 201], within=10)
    await wait_for(lambda: _all(pc, NIGHT_WORKER, "delivered", "sent", attempts=1), within=10)
    pc.clock.advance(120)  # past the wait for a report, and every backoff
    await pc.service.notifier.run_once()
    assert api_statuses(pc, NIGHT_WORKER) == [201, 201]
    assert await last_errors(pc, NIGHT_WORKER) == [None, None]
    async with pc.service.sessions() as session:
        ids = set(
            await session.scalars(select(Notification.id).where(Notification.phone == NIGHT_WORKER))
        )
        lines = [
            (kind, data)
            for kind, data in await session.execute(
                select(EventLog.kind, EventLog.data).where(
                    EventLog.kind.in_(["notification_in_doubt", "notification_sent"])
                )
            )
            if data.get("notification_id") in ids
        ]
    # the timeline: in doubt for want of an answer (unless Twilio's report came first),
    # then sent, as Twilio's report confirmed
    sent = [d for k, d in lines if k == "notification_sent"]
    assert len(sent) == 2, lines
    assert all(d.get("confirmed") for d in sent), lines
    assert all("no answer from Twilio" in d["error"] for k, d in lines if k != "notification_sent")


@pytest.mark.twilio_timeout_s(1.0)
async def test_a_stalled_twilio_that_made_nothing_is_sent_again_after_the_wait(
    phone_city: PhoneCity,
) -> None:
    """Twilio answers late with an error: nothing was made, no report comes, and after
    `in_doubt_s` (30 s) the message and the call go again, once."""
    pc = phone_city
    await press(pc, pc.city.terminals[0], "sos-slow-503")
    pc.standin.delay_next(2, seconds=2.0, then_status=503)
    pc.clock.advance(60)
    await wait_for(lambda: in_doubt(pc, NIGHT_WORKER), within=10)
    await wait_for(lambda: api_statuses(pc, NIGHT_WORKER) == [503, 503], within=10)
    pc.clock.advance(20)  # past the 2 s backoff, not the 30 s wait for a report
    await pc.service.notifier.run_once()
    assert api_statuses(pc, NIGHT_WORKER) == [503, 503]
    pc.clock.advance(11)
    await wait_for(
        lambda: sorted(api_statuses(pc, NIGHT_WORKER)) == [201, 201, 503, 503], within=10
    )
    await wait_for(lambda: _all(pc, NIGHT_WORKER, "delivered", "sent", attempts=2), within=10)


async def test_an_invalid_number_moves_to_the_next_step_at_once(phone_city: PhoneCity) -> None:
    pc = phone_city
    pc.standin.person(NIGHT_WORKER).rejected_with(21211)
    await press(pc, pc.city.terminals[0], "sos-21211")
    pc.clock.advance(60)
    # no waiting out step 1's 120 s: contact 1 is called at once
    await wait_for(lambda: contact_phone(1, 1) in numbers_texted(pc))
    assert [s for _, s, _ in await statuses(pc, NIGHT_WORKER)] == ["permanent_failure"] * 2


async def test_fifty_alarms_for_one_daughter_become_a_few_messages_and_a_summary(
    phone_settings: Callable[..., tuple[Settings, int]],
) -> None:
    daughter = contact_phone(1, 1)
    async with TwilioStandIn(step_s=0.005) as standin:
        settings, _port = phone_settings(
            standin,
            escalation={
                "emergency": {
                    "steps": [{"notify": ["contact:1"], "channels": ["sms"], "wait_s": 600}]
                }
            },
        )
        limit = settings.notifications.throttle.limit
        clock = ManualClock(AT_3AM)
        async with running(settings, clock=clock, http=True) as service:
            city = await seed_city(service.sessions, residents=50)
            async with service.sessions.begin() as session:
                await session.execute(
                    update(Contact).where(Contact.priority == 1).values(phone=daughter)
                )
            async with raw_peer(("127.0.0.1", 1883), settings.mqtt.topic_prefix) as peer:
                for n, terminal in enumerate(city.terminals):
                    await peer.publish(terminal, "event", event(f"storm-{n}"))
                for _ in city.terminals:
                    assert (await peer.next_ack())[1]["result"] == "accepted"

            async def settled() -> bool:
                async with service.sessions() as session:
                    rows = list(await session.scalars(select(Notification.status)))
                return len(rows) >= 51 and all(s in {"delivered", "summarized"} for s in rows)

            async def storm_held() -> bool:
                async with service.sessions() as session:
                    rows = list(await session.scalars(select(Notification.status)))
                return len(rows) == 50 and all(s in {"delivered", "held"} for s in rows)

            try:
                await wait_for(storm_held, within=20)
            except TimeoutError:
                async with service.sessions() as session:
                    rows = list(
                        await session.execute(
                            select(
                                Notification.status,
                                Notification.provider_status,
                                Notification.last_error,
                            )
                        )
                    )
                raise AssertionError(rows) from None
            # the held ones gather for a while, then go out as one summary
            clock.advance(settings.notifications.throttle.gather_s)
            await wait_for(settled, within=20)
            texts = [r for r in standin.requests if r.get("To") == daughter]
            assert len(texts) <= limit
            summary = texts[-1].get("Body") or ""
            held = 50 - (len(texts) - 1)
            assert f"另有{held}起报警" in summary


async def _all(pc: PhoneCity, phone: str, *wanted: str, attempts: int | None = None) -> bool:
    rows = await statuses(pc, phone)
    return bool(rows) and all(
        s in wanted and (attempts is None or a == attempts) for _, s, a in rows
    )
