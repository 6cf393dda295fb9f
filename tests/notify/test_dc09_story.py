"""A terminal of another maker on SIA DC-09: its SOS is the same alarm as an MQTT SOS,
acknowledged after the commit, and texts the worker on shift through the Twilio stand-in;
bad input is answered as DC-09 says and holds up nobody. On both databases."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from devices import dc09
from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.store.models import Alarm, EventLog, Resident, Terminal
from harness.city import seed_city
from harness.mqtt import wait_for
from harness.service import first_step_fired, running
from simulators.cli import main as simulate
from simulators.dc09 import Dc09Terminal
from simulators.twilio.standin import TwilioStandIn
from tests.notify.conftest import AT_3AM, NIGHT_WORKER, PhoneCity
from tests.notify.test_phone_story import numbers_texted

KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")


@pytest.fixture
async def dc09_city(
    phone_settings: Callable[..., tuple[Settings, int]],
) -> AsyncIterator[PhoneCity]:
    async with TwilioStandIn(step_s=0.005) as standin:
        settings, port = phone_settings(standin, dc09={"port": 0})
        standin.sms_url = f"http://127.0.0.1:{port}/twilio/sms"
        clock = ManualClock(AT_3AM)
        async with running(settings, clock=clock, http=True) as service:
            city = await seed_city(service.sessions)
            async with service.sessions.begin() as session:
                # the first terminal encrypts, the second sends plain
                for device_id, account, key in [
                    (city.terminals[0], "1A2B", KEY.hex().upper()),
                    (city.terminals[1], "3C4D", None),
                ]:
                    await session.execute(
                        update(Terminal)
                        .where(Terminal.device_id == device_id)
                        .values(protocol="dc09", dc09_account=account, dc09_key=key)
                    )
            assert service.dc09 is not None
            await service.dc09.reload_accounts()  # as it does every accounts_refresh_s
            yield PhoneCity(service, standin, clock, city)


def terminal(pc: PhoneCity, account: str, key: bytes | None, **kw: object) -> Dc09Terminal:
    assert pc.service.dc09 is not None
    return Dc09Terminal(
        account,
        key,
        "127.0.0.1",
        pc.service.dc09.port,
        clock=pc.clock.now,
        retry_s=2.0,
        **kw,  # type: ignore[arg-type]
    )


async def events_of(pc: PhoneCity, device_id: str, kind: str = "device_event") -> list[EventLog]:
    async with pc.service.sessions() as session:
        rows = await session.scalars(
            select(EventLog).where(EventLog.device_id == device_id, EventLog.kind == kind)
        )
        return list(rows)


async def test_a_dc09_sos_is_acked_after_commit_and_texts_the_worker(dc09_city: PhoneCity) -> None:
    pc = dc09_city
    device = pc.city.terminals[0]
    async with terminal(pc, "1A2B", KEY) as t:
        sent = await t.sos("100")
        assert sent.answer is dc09.Answer.ACK
        # acknowledged, so committed: the alarm is there now, not eventually
        async with pc.service.sessions() as session:
            alarm = await session.scalar(select(Alarm).where(Alarm.device_id == device))
        assert alarm is not None
        assert (alarm.kind, alarm.type) == ("emergency", "sos")
        (logged,) = await events_of(pc, device)
        assert logged.alarm_id == alarm.id
        assert logged.data is not None
        assert logged.data["code"] == "CID 1100 z001"
        assert (logged.data["protocol"], logged.data["cid"]) == ("dc09", "100")
        # the terminal missed our ACK and sends the same message again: answered, stored once
        raw = t.frame("ADM-CID", "1100 01 001", t.seq)
        answer = await t._exchange(raw)
        assert dc09.read_answer(answer, KEY)[0] is dc09.Answer.ACK
        assert len(await events_of(pc, device)) == 1
    await wait_for(lambda: first_step_fired(pc.service, alarm.id))
    pc.clock.advance(60)
    await wait_for(lambda: NIGHT_WORKER in numbers_texted(pc))


async def test_null_is_a_heartbeat_and_other_codes_are_stored_raising_nothing(
    dc09_city: PhoneCity,
) -> None:
    pc = dc09_city
    device = pc.city.terminals[1]
    async with terminal(pc, "3C4D", None, udp=True) as t:
        assert (await t.send("NULL")).answer is dc09.Answer.ACK
        assert (await t.send("ADM-CID", "1110 01 003")).answer is dc09.Answer.ACK  # fire
        assert (await t.send("SIA-DCS", "Nri1/CL501")).answer is dc09.Answer.ACK
        # the panel's automatic test: stored, and no sign that the resident is well
        assert (await t.send("ADM-CID", "1602 00 000")).answer is dc09.Answer.ACK

    async def beat() -> bool:
        async with pc.service.sessions() as session:
            terminal_row = await session.get_one(Terminal, device)
            await session.refresh(terminal_row)
            return terminal_row.last_heartbeat is not None

    await wait_for(beat)
    reports = await events_of(pc, device, "device_report")
    assert sorted(r.data["code"] for r in reports if r.data) == ["CID 1110 z003", "SIA CL z501"]
    async with pc.service.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Alarm)) == 0
        resident = await session.get_one(Resident, pc.city.residents[1])
        assert resident.last_press_at is None
    (test,) = await events_of(pc, device)
    assert (test.type, test.data["code"] if test.data else None) == ("test", "CID 1602 z000")


async def test_bad_input_is_answered_as_dc09_says_and_holds_up_no_sos(
    dc09_city: PhoneCity,
) -> None:
    pc = dc09_city
    assert pc.service.dc09 is not None
    port = pc.service.dc09.port
    now = pc.clock.now()

    async def exchange(raw: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(raw)
            await writer.drain()
            return await asyncio.wait_for(reader.readuntil(b"\r"), 5)
        finally:
            writer.close()

    def answer_of(raw: bytes, key: bytes | None = None) -> dc09.Answer:
        return dc09.read_answer(raw, key)[0]

    good = dc09.message("ADM-CID", 5, "1A2B", "1100 01 001", key=KEY, now=now)
    damaged = good.replace(b"#1A2B", b"#1A2C")  # CRC no longer matches
    assert answer_of(await exchange(damaged)) is dc09.Answer.NAK
    unknown = dc09.message("ADM-CID", 5, "9999", "1100 01 001", key=None, now=now)
    assert answer_of(await exchange(unknown)) is dc09.Answer.DUH
    wrong_key = dc09.message("ADM-CID", 5, "1A2B", "1100 01 001", key=bytes(16), now=now)
    assert answer_of(await exchange(wrong_key), KEY) is dc09.Answer.DUH
    plain_from_keyed = dc09.message("ADM-CID", 5, "1A2B", "1100 01 001", key=None, now=now)
    assert answer_of(await exchange(plain_from_keyed)) is dc09.Answer.DUH
    old = dc09.message("ADM-CID", 5, "1A2B", "1100 01 001", key=KEY, now=now.replace(year=2025))
    nak = await exchange(old)
    assert dc09.read_answer(nak, None) == (dc09.Answer.NAK, "0000", now)

    # a stream of garbage with no frame end is closed; one cut mid-frame waits for the rest
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"x" * 3000)
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    cut_reader, cut_writer = await asyncio.open_connection("127.0.0.1", port)
    cut_writer.write(good[:30])
    await cut_writer.drain()

    # meanwhile, a real SOS of another terminal goes through
    async with terminal(pc, "3C4D", None) as t:
        assert (await t.sos("101")).answer is dc09.Answer.ACK
    cut_writer.write(good[30:])
    await cut_writer.drain()
    assert answer_of(await asyncio.wait_for(cut_reader.readuntil(b"\r"), 5), KEY) is dc09.Answer.ACK
    cut_writer.close()

    async def logged() -> int:
        async with pc.service.sessions() as session:
            found = await session.scalar(
                select(func.count()).select_from(EventLog).where(EventLog.kind == "rejected")
            )
            return int(found or 0)

    await wait_for(lambda: logged_at_least(logged, 5))
    assert pc.service.dc09.counts.answers["NAK"] >= 2


async def logged_at_least(count: Callable[[], object], n: int) -> bool:
    value = await count()  # type: ignore[misc]
    return isinstance(value, int) and value >= n


async def test_simulate_dc09_sends_until_ack(
    dc09_city: PhoneCity, capsys: pytest.CaptureFixture[str]
) -> None:
    pc = dc09_city
    assert pc.service.dc09 is not None
    port = str(pc.service.dc09.port)
    # the command's terminal keeps the wall clock: the service's clock is set to it
    pc.clock.set(datetime.now(UTC))
    args = ["dc09", pc.city.terminals[1], "--account", "3C4D", "--port", port, "--code", "100"]
    assert await asyncio.to_thread(simulate, args) == 0
    assert "ACK after 1 attempt(s)" in capsys.readouterr().out
    udp = ["dc09", pc.city.terminals[0], "--account", "1A2B", "--key", KEY.hex(), "--udp"]
    assert await asyncio.to_thread(simulate, [*udp, "--port", port, "--null"]) == 0
    wrong = ["dc09", "T-X", "--account", "FFFF", "--port", port, "--attempts", "1"]
    assert await asyncio.to_thread(simulate, wrong) == 1
    assert "DUH" in capsys.readouterr().out


async def test_shutdown_does_not_wait_for_idle_panel_connections(
    phone_settings: Callable[..., tuple[Settings, int]],
) -> None:
    async with TwilioStandIn(step_s=0.005) as standin:
        settings, _ = phone_settings(standin, dc09={"port": 0})
        async with running(settings) as service:
            assert service.dc09 is not None
            # a panel keeps its connection open between messages
            reader, writer = await asyncio.open_connection("127.0.0.1", service.dc09.port)
            stopping = time.monotonic()
        # the drain waits up to 10 s for messages in hand; an idle connection is none
        assert time.monotonic() - stopping < 5
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by us
        writer.close()
