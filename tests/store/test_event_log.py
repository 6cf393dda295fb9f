"""Whatever a terminal sends can be written to the event log, on both databases: text
and JSON(B) on PostgreSQL hold no NUL and no lone surrogate, and a line that cannot be
written would hold up the presses written with it (issue 9 §2)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devices.events import Rejection
from dispatcher.ingest.transaction import rejection_row
from dispatcher.store.event_log import RAW_KEEP_BYTES, log_entry, raw_bytes, raw_text, storable
from dispatcher.store.models import EventLog

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
NASTY = "nul\x00 surrogate\ud800 中文 back\\slash"
SHORT = "n\x00s\ud800中"  # for the columns of 32 characters


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=RAW_KEEP_BYTES + 10))
def test_a_payload_is_kept_byte_for_byte(payload: bytes) -> None:
    text, escaped = raw_text(payload)
    assert storable(text) == text  # nothing left that a database refuses
    assert raw_bytes(text, escaped=escaped) == payload[:RAW_KEEP_BYTES]


def test_utf8_without_nul_is_kept_as_it_is() -> None:
    assert raw_text('{"type": "求助"}'.encode()) == ('{"type": "求助"}', False)
    assert raw_text(b"a\x00\\x00\xff") == ("a\\x00\\\\x00\\xff", True)


async def test_nul_and_surrogates_in_any_field_are_written_and_read_back(
    sessions: Sessions,
) -> None:
    payload = b'{"v":1,"event_id":"nul-1","type":"sos\x00","x":"\xff"}'
    rejection = Rejection(
        topic=f"p/terminals/{NASTY}/event",
        reason=NASTY,
        raw=payload,
        device_id="T-0001",
        event_id="nul-1",
    )
    async with sessions.begin() as session:
        session.add(rejection_row(rejection, NOW))
        session.add(
            log_entry(
                "note",
                at=NOW,
                actor=SHORT,
                device_id=SHORT,
                event_id=SHORT,
                type_=SHORT,
                data={NASTY: [NASTY, {"k": NASTY}]},
                raw=NASTY,
            )
        )
    async with sessions() as session:
        rejected, note = (await session.scalars(select(EventLog).order_by(EventLog.id))).all()
    assert rejected.data is not None
    assert rejected.data["raw_escaped"] is True
    assert rejected.data["size"] == len(payload)
    assert rejected.raw is not None
    assert raw_bytes(rejected.raw, escaped=True) == payload
    assert rejected.data["topic"] == "p/terminals/nul\\x00 surrogate\\ud800 中文 back\\slash/event"
    short, shown = storable(SHORT), storable(NASTY)
    assert (note.actor, note.device_id, note.event_id, note.type) == (short,) * 4
    assert note.raw == shown
    assert note.data == {shown: [shown, {"k": shown}]}
