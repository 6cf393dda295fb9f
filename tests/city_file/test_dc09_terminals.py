"""DC-09 terminals in the city file (docs/protocol.md): `terminal: {id, protocol: dc09,
account, key}`; the short form stays MQTT; bad accounts and keys are reported by place."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dispatcher.city_file.rows import CityDataError
from dispatcher.store.models import Terminal
from tests.city_file.test_load import Sessions, city_document, counts, load

KEY = "000102030405060708090a0b0c0d0e0f"


async def wiring(sessions: Sessions) -> dict[str, tuple[str, str | None, str | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Terminal.device_id, Terminal.protocol, Terminal.dc09_account, Terminal.dc09_key)
        )
        return {d: (p, a, k) for d, p, a, k in rows}


async def test_dc09_terminals_load_and_change_protocol_idempotently(sessions: Sessions) -> None:
    doc = city_document(3, per_community=10)
    residents = doc["residents"]
    residents[0]["terminal"] = {"id": "T-00000", "protocol": "dc09", "account": "1a2b", "key": KEY}
    residents[1]["terminal"] = {"id": "T-00001", "protocol": "dc09", "account": "3C4D"}
    await load(sessions, doc)
    assert await wiring(sessions) == {
        "T-00000": ("dc09", "1A2B", KEY.upper()),
        "T-00001": ("dc09", "3C4D", None),
        "T-00002": ("mqtt", None, None),
    }
    report = await load(sessions, doc)
    assert report.terminals == counts(unchanged=3)
    # the same terminal back on MQTT (the short form), another key for the first
    residents[0]["terminal"]["key"] = "F" * 64
    residents[1]["terminal"] = "T-00001"
    report = await load(sessions, doc)
    assert report.terminals == counts(updated=2, unchanged=1)
    assert (await wiring(sessions))["T-00001"] == ("mqtt", None, None)
    assert (await wiring(sessions))["T-00000"] == ("dc09", "1A2B", "F" * 64)


@pytest.mark.parametrize(
    ("terminal", "message"),
    [
        ({"id": "T-00000", "protocol": "dc09"}, "account"),
        ({"id": "T-00000", "protocol": "dc09", "account": "12"}, "3 to 16 hex"),
        ({"id": "T-00000", "protocol": "dc09", "account": "XYZ1"}, "3 to 16 hex"),
        ({"id": "T-00000", "protocol": "dc09", "account": "1234", "key": "ABC"}, "AES key"),
        ({"id": "T-00000", "protocol": "sia"}, "mqtt or dc09"),
        ({"id": "T-00000", "account": "1234"}, "for protocol: dc09"),
    ],
)
async def test_bad_dc09_terminals_are_reported_and_nothing_is_written(
    sessions: Sessions, terminal: dict[str, str], message: str
) -> None:
    doc = city_document(2, per_community=10)
    doc["residents"][0]["terminal"] = terminal
    with pytest.raises(CityDataError) as caught:
        await load(sessions, doc)
    assert message in str(caught.value)
    assert "residents[0] (r-00000).terminal" in str(caught.value)
    assert await wiring(sessions) == {}


async def test_an_account_given_twice_is_an_error(sessions: Sessions) -> None:
    doc = city_document(2, per_community=10)
    for i in (0, 1):
        doc["residents"][i]["terminal"] = {"id": f"T-{i}", "protocol": "dc09", "account": "ABC"}
    with pytest.raises(CityDataError, match="DC-09 account 'ABC' is already given"):
        await load(sessions, doc)
