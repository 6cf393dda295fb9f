"""A resident's home on the map (docs/api.md): `lat` and `lon` in the city file, both or
neither, in range; loaded on both databases, kept when a row leaves them out; and every
resident of the demo city has them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dispatcher.city_file.check import check_city
from dispatcher.store.models import Resident
from tests.city_file.test_daily_care_fields import Sessions, document, load, stored

DEMO = Path(__file__).resolve().parents[2] / "simulators" / "demo_city.yaml"


def test_a_home_is_read() -> None:
    data, errors = check_city(document(lat=36.6674, lon=116.972), current_year=2026)
    assert errors == []
    [r] = data.residents
    assert r.location == (36.6674, 116.972)
    assert "lat" in r.given


@pytest.mark.parametrize(
    ("fields", "place", "says"),
    [
        ({"lat": 36.6}, "lon", "required with the other"),
        ({"lon": 116.9}, "lat", "required with the other"),
        ({"lat": 91, "lon": 116.9}, "lat", "outside -90..90"),
        ({"lat": 36.6, "lon": -181}, "lon", "outside -180..180"),
        ({"lat": "36.6N", "lon": 116.9}, "lat", "must be degrees"),
        ({"lat": True, "lon": 116.9}, "lat", "must be degrees"),
    ],
)
def test_wrong_ones_are_named_by_place(fields: dict[str, Any], place: str, says: str) -> None:
    _, errors = check_city(document(**fields), current_year=2026)
    assert [e.place for e in errors] == [f"residents[0] (r-1).{place}"]
    assert says in errors[0].message


async def test_given_it_replaces_left_out_it_stays(sessions: Sessions) -> None:
    await load(sessions, document(lat=36.6674, lon=116.972))
    r: Resident = await stored(sessions)
    assert (r.lat, r.lon) == (36.6674, 116.972)
    await load(sessions, document(address="纬北路14号"))
    r = await stored(sessions)
    assert (r.address, r.lat, r.lon) == ("纬北路14号", 36.6674, 116.972)
    await load(sessions, document(lat=None, lon=None))
    r = await stored(sessions)
    assert (r.lat, r.lon) == (None, None)


def test_every_demo_resident_has_a_home_on_the_map() -> None:
    document_ = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data, errors = check_city(document_, current_year=2026)
    assert errors == []
    assert all(r.location is not None for r in data.residents)
    assert len(data.residents) == 50
