"""The demo city file and the city generator: format of docs/city-file.md, and integrity."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from simulators.city import (
    CATEGORIES,
    DEMO_CITY,
    check_city,
    generate_city,
    load_city,
    terminal_ids,
    write_city,
)
from simulators.cli import main

COMMUNITY_KEYS = {"id", "name", "street", "district", "workers", "providers"}
WORKER_KEYS = {"id", "name", "phone", "shifts"}
SHIFT_KEYS = {"days", "start", "end"}
PROVIDER_KEYS = {"id", "name", "category", "phone"}
RESIDENT_KEYS = {
    "id", "name", "birth_year", "community", "address", "language", "medical", "terminal",
    "contacts",
}  # fmt: skip
# daily care (docs/daily-care.md): some residents have them
OPTIONAL_RESIDENT_KEYS = {"phone", "service_default", "checkin", "lat", "lon"}
CONTACT_KEYS = {"name", "relation", "phone", "priority"}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    return load_city(DEMO_CITY)


def assert_format(city: dict[str, Any]) -> None:
    """Exactly the keys and types of docs/city-file.md, no more, no less."""
    assert set(city) == {"communities", "residents"}
    for c in city["communities"]:
        assert set(c) == COMMUNITY_KEYS
        assert 3 <= len(c["workers"]) <= 5
        for w in c["workers"]:
            assert set(w) == WORKER_KEYS
            assert all(set(s) == SHIFT_KEYS for s in w["shifts"])
        for p in c["providers"]:
            assert set(p) == PROVIDER_KEYS
    for r in city["residents"]:
        assert RESIDENT_KEYS <= set(r) <= RESIDENT_KEYS | OPTIONAL_RESIDENT_KEYS
        assert isinstance(r["birth_year"], int)
        assert 1930 <= r["birth_year"] <= 1955
        assert r["language"] in ("zh-CN", "en")
        assert 1 <= len(r["contacts"]) <= 3
        assert all(set(contact) == CONTACT_KEYS for contact in r["contacts"])
    for phone in phones(city):
        assert isinstance(phone, str)
        assert phone.startswith("+86138")


def phones(city: dict[str, Any]) -> list[str]:
    found = [w["phone"] for c in city["communities"] for w in c["workers"]]
    found += [p["phone"] for c in city["communities"] for p in c["providers"]]
    found += [r["phone"] for r in city["residents"] if "phone" in r]
    return found + [k["phone"] for r in city["residents"] for k in r["contacts"]]


def night_days(community: dict[str, Any]) -> set[str]:
    """Days whose night (the shift starting that evening) someone works."""
    days: set[str] = set()
    for worker in community["workers"]:
        for shift in worker["shifts"]:
            if shift["end"] <= shift["start"]:  # overnight
                first, _, last = shift["days"].partition("-")
                lo, hi = DAYS.index(first), DAYS.index(last or first)
                days.update(DAYS[lo : hi + 1])
    return days


# ---- the demo city ---------------------------------------------------------------------


def test_demo_city_is_consistent(demo: dict[str, Any]) -> None:
    assert check_city(demo) == []
    assert_format(demo)


def test_demo_city_content(demo: dict[str, Any]) -> None:
    assert len(demo["residents"]) == 50
    assert terminal_ids(demo) == [f"T-{i:04d}" for i in range(1, 51)]
    assert [r["id"] for r in demo["residents"]] == [f"r-{i:04d}" for i in range(1, 51)]
    streets = {c["street"] for c in demo["communities"]}
    assert {"纬北路街道", "无影山街道", "官扎营街道", "北坦街道", "工人新村北村街道"} <= streets
    assert {c["district"] for c in demo["communities"]} == {"天桥区"}
    assert sum(r["language"] == "en" for r in demo["residents"]) >= 2
    # every community has residents, so each can be exercised
    per_community = Counter(r["community"] for r in demo["residents"])
    assert set(per_community) == {c["id"] for c in demo["communities"]}
    # the example resident of docs/city-file.md
    first = demo["residents"][0]
    assert (first["name"], first["community"], first["terminal"]) == (
        "王秀英",
        "kangqiao",
        "T-0001",
    )


def test_demo_city_has_exactly_one_community_without_night_shifts(
    demo: dict[str, Any],
) -> None:
    uncovered = [c["id"] for c in demo["communities"] if not night_days(c)]
    assert uncovered == ["chengfengqiao"]
    for community in demo["communities"]:
        if community["id"] != "chengfengqiao":
            assert night_days(community) == set(DAYS), community["id"]


def test_demo_city_providers_span_the_categories(demo: dict[str, Any]) -> None:
    # the five areas of the ten-minute circle, in every community
    for c in demo["communities"]:
        assert set(CATEGORIES) <= {p["category"] for p in c["providers"]}, c["id"]


def test_demo_city_has_daily_care(demo: dict[str, Any]) -> None:
    checkins = [r for r in demo["residents"] if "checkin" in r]
    assert len(checkins) == 40
    assert any("paused_until" in r["checkin"] for r in checkins)
    categories = {p["category"] for c in demo["communities"] for p in c["providers"]}
    assert all(
        r["service_default"] in categories for r in demo["residents"] if "service_default" in r
    )


# ---- the generator -----------------------------------------------------------------------


def test_generator_is_deterministic_by_seed() -> None:
    assert generate_city(700, seed=1) == generate_city(700, seed=1)
    assert generate_city(700, seed=1) != generate_city(700, seed=2)


def test_generated_city_at_scale() -> None:
    city = generate_city(10_000, seed=42)
    assert check_city(city) == []
    assert_format(city)
    assert len(city["residents"]) == 10_000
    assert len(city["communities"]) == 34  # ~300 residents each
    sizes = Counter(r["community"] for r in city["residents"])
    assert max(sizes.values()) == 300
    assert terminal_ids(city)[:2] == ["T-000001", "T-000002"]
    assert len(set(phones(city))) == len(phones(city))
    assert len({c["name"] for c in city["communities"]}) == 34
    assert all(night_days(c) == set(DAYS) for c in city["communities"])


def test_write_and_load_round_trip(tmp_path: Path) -> None:
    city = generate_city(350, seed=3)
    path = tmp_path / "city.yaml"
    write_city(city, path)
    assert load_city(path) == city  # phones and "20:00" stay strings
    text = path.read_text(encoding="utf-8")
    assert "天桥区" in text  # readable, not \u escapes


def test_tiny_cities() -> None:
    assert generate_city(0, seed=1)["residents"] == []
    assert check_city(generate_city(1, seed=1)) == []
    with pytest.raises(ValueError, match="n_residents"):
        generate_city(-1, seed=1)


def test_load_refuses_a_file_that_is_not_a_city(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a city file"):
        load_city(path)


# ---- the check catches what it should ------------------------------------------------------


def test_check_finds_each_kind_of_problem(demo: dict[str, Any]) -> None:
    city = copy.deepcopy(demo)
    residents = city["residents"]
    residents[1]["id"] = residents[0]["id"]
    residents[2]["terminal"] = residents[3]["terminal"]
    residents[4]["community"] = "atlantis"
    residents[5]["contacts"][0]["priority"] = 3
    residents[6]["contacts"][0]["phone"] = "13800000000"
    residents[7]["contacts"][0]["phone"] = residents[8]["contacts"][0]["phone"]
    residents[9]["name"] = ""
    city["communities"][0]["workers"][0]["shifts"][0]["end"] = "25:00"
    problems = "\n".join(check_city(city))
    assert "resident r-0001 appears 2 times" in problems
    assert f"terminal {residents[3]['terminal']} appears 2 times" in problems
    assert "unknown community atlantis" in problems
    assert "contact priorities" in problems
    assert "13800000000 is not E.164" in problems
    assert f"phone {residents[8]['contacts'][0]['phone']} appears 2 times" in problems
    assert "r-0010: missing name" in problems
    assert "bad shift" in problems


def test_simulate_city_writes_a_checked_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sub" / "city.yaml"
    assert main(["city", "--residents", "650", "--out", str(out), "--seed", "9"]) == 0
    assert "wrote 650 residents in 3 communities" in capsys.readouterr().out
    assert load_city(out) == generate_city(650, seed=9)
