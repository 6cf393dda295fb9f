"""The city data file (docs/city-file.md): every kind of error, named by its place and line,
all reported at once; the rows of a good file, typed."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from dispatcher.city_file.check import check_city
from dispatcher.city_file.read import read_yaml
from dispatcher.city_file.rows import (
    LANGUAGES,
    CityError,
    CommunityRow,
    ContactRow,
    ProviderRow,
    ResidentRow,
    ShiftRow,
    TerminalRow,
    WorkerRow,
)

YEAR = 2026

# the example of docs/city-file.md, without its optional keys
EXAMPLE = """\
communities:
  - id: kangqiao
    name: 康桥社区
    street: 纬北路街道
    district: 天桥区
    workers:
      - id: w-zhang
        name: 张丽
        phone: "+8613800000001"
        shifts: [{days: mon-sun, start: "08:00", end: "20:00"}]
    providers:
      - {id: p-meal-1, name: 康桥老年餐桌, category: meals, phone: "+8613800000101"}
residents:
  - id: r-0001
    name: 王秀英
    birth_year: 1938
    community: kangqiao
    address: 天桥区纬北路12号3单元201
    language: zh-CN
    medical: 高血压；糖尿病；青霉素过敏
    terminal: T-0001
    contacts:
      - {name: 李娜, relation: 女儿, phone: "+8613900000001", priority: 1}
      - {name: 赵强, relation: 邻居, phone: "+8613900000002", priority: 2}
"""


def document() -> dict[str, Any]:
    """A fresh copy of the example as plain dicts (no line numbers)."""
    loaded = yaml.safe_load(EXAMPLE)
    assert isinstance(loaded, dict)
    return copy.deepcopy(loaded)


def resident(i: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": f"r-{i:04d}",
        "name": f"居民{i}",
        "birth_year": 1940,
        "community": "kangqiao",
        "address": f"纬北路{i}号",
        "terminal": f"T-{i:04d}",
        "contacts": [
            {"name": "李娜", "phone": f"+86139{i:04d}0001", "priority": 1},
            {"name": "赵强", "phone": f"+86139{i:04d}0002", "priority": 2},
        ],
    }
    row.update(overrides)
    return row


def errors_of(doc: object, **kwargs: Any) -> list[tuple[str, str]]:
    _, errors = check_city(doc, current_year=YEAR, **kwargs)
    return [(e.place, e.message) for e in errors]


def one_error(doc: object, **kwargs: Any) -> tuple[str, str]:
    errors = errors_of(doc, **kwargs)
    assert len(errors) == 1, errors
    return errors[0]


# --- a good file ------------------------------------------------------------------


def test_the_example_gives_typed_rows() -> None:
    data, errors = check_city(read_yaml(EXAMPLE), current_year=YEAR)
    assert errors == []
    assert data.communities == (CommunityRow("kangqiao", "康桥社区", "纬北路街道", "天桥区"),)
    assert data.workers == (
        WorkerRow(
            "w-zhang",
            "kangqiao",
            "张丽",
            "+8613800000001",
            (ShiftRow("mon-sun", "08:00", "20:00"),),
        ),
    )
    assert data.providers == (
        ProviderRow("p-meal-1", "kangqiao", "康桥老年餐桌", "meals", "+8613800000101"),
    )
    assert data.residents == (
        ResidentRow(
            "r-0001",
            "kangqiao",
            "王秀英",
            1938,
            "天桥区纬北路12号3单元201",
            "zh-CN",
            "高血压；糖尿病；青霉素过敏",
        ),
    )
    assert data.contacts == (
        ContactRow("r-0001", 1, "李娜", "女儿", "+8613900000001", None, None),
        ContactRow("r-0001", 2, "赵强", "邻居", "+8613900000002", None, None),
    )
    assert data.terminals == (TerminalRow("T-0001", "r-0001"),)
    assert data.workers_for == data.providers_for == {"kangqiao"}
    assert data.contacts_for == data.terminal_for == {"r-0001"}
    # rows remember their line, for the reader; it is not part of their value
    assert data.residents[0].line == 14
    assert data.contacts[1].line == 24
    assert ShiftRow("mon-sun", "08:00", "20:00").as_json() == {
        "days": "mon-sun",
        "start": "08:00",
        "end": "20:00",
    }


def test_test_style_cn_mobiles_are_valid_numbers() -> None:
    doc = document()
    doc["residents"] = [resident(i) for i in range(1, 30)]
    assert errors_of(doc) == []


def test_optional_fields_take_their_defaults() -> None:
    doc = {
        "residents": [
            {"id": "r-1", "name": "王", "community": "kangqiao", "address": "纬北路1号"},
        ]
    }
    data, errors = check_city(doc, current_year=YEAR, existing_communities={"kangqiao"})
    assert errors == []
    assert data.residents == (ResidentRow("r-1", "kangqiao", "王", None, "纬北路1号", "zh-CN", ""),)
    # left-out lists and terminal: the database keeps what it has
    assert data.contacts_for == data.terminal_for == frozenset()
    assert data.contacts == ()
    assert data.terminals == ()


def test_given_but_empty_lists_and_null_terminal_are_recorded() -> None:
    doc = document()
    doc["communities"][0]["workers"] = None
    doc["communities"][0]["providers"] = []
    doc["residents"][0]["contacts"] = []
    doc["residents"][0]["terminal"] = None
    data, errors = check_city(doc, current_year=YEAR)
    assert errors == []
    assert (data.workers, data.providers, data.contacts, data.terminals) == ((), (), (), ())
    assert data.workers_for == data.providers_for == {"kangqiao"}
    assert data.contacts_for == data.terminal_for == {"r-0001"}


def test_contact_channel_and_language_are_optional_choices() -> None:
    doc = document()
    doc["residents"][0]["language"] = "en"
    doc["residents"][0]["contacts"][0].update(channel="sms", language="en")
    data, errors = check_city(doc, current_year=YEAR)
    assert errors == []
    assert data.residents[0].language == "en"
    assert (data.contacts[0].channel, data.contacts[0].language) == ("sms", "en")
    assert set(LANGUAGES) == {"zh-CN", "en"}


def test_values_are_stripped() -> None:
    doc = document()
    doc["residents"][0]["name"] = "  王秀英 "
    doc["residents"][0]["contacts"][0]["phone"] = " +8613900000001 "
    data, errors = check_city(doc, current_year=YEAR)
    assert errors == []
    assert data.residents[0].name == "王秀英"
    assert data.contacts[0].phone == "+8613900000001"


# --- YAML with line numbers ---------------------------------------------------------


def test_unquoted_times_and_phones_stay_text() -> None:
    # YAML 1.1 would read 20:00 as 1200 and +8613800000001 as a number without its +
    text = EXAMPLE.replace('"+8613800000001"', "+8613800000001").replace('"20:00"', "20:00")
    loaded = read_yaml(text)
    worker = loaded["communities"][0]["workers"][0]
    assert worker["phone"] == "+8613800000001"
    assert worker["shifts"][0]["end"] == "20:00"
    assert errors_of(loaded) == []
    assert read_yaml("a: 1200\nb: '7'\nc: 1.5\nd: true\ne: null") == {
        "a": 1200,
        "b": "7",
        "c": 1.5,
        "d": True,
        "e": None,
    }


def test_yaml_anchors_and_merge_keys_work() -> None:
    text = """\
base: &base {community: kangqiao, address: 纬北路1号}
list: &l [1, 2]
again: *l
merged:
  <<: *base
  name: 王
"""
    loaded = read_yaml(text)
    assert loaded["merged"] == {"community": "kangqiao", "address": "纬北路1号", "name": "王"}
    assert loaded["again"] is loaded["list"]
    assert read_yaml("") is None


def test_bad_yaml_raises_with_its_mark() -> None:
    with pytest.raises(yaml.YAMLError) as info:
        read_yaml("residents:\n  - id: r-1\n    name: [unclosed\n")
    assert getattr(info.value, "problem_mark", None) is not None
    with pytest.raises(yaml.YAMLError, match="not a plain value"):
        read_yaml("{[1]: 2}: x\n")


def test_errors_carry_line_numbers() -> None:
    text = EXAMPLE.replace('"+8613900000002"', '"+86 139"')
    _, errors = check_city(read_yaml(text), current_year=YEAR)
    assert errors == [
        CityError(
            "residents[0] (r-0001).contacts[1].phone",
            "'+86 139' is not in E.164 form: a + then the country code and number, "
            "no spaces or dashes, like +8613800000001",
            24,
        )
    ]
    assert str(errors[0]).startswith("line 24: residents[0] (r-0001).contacts[1].phone: ")
    assert str(CityError("file", "is empty")) == "file: is empty"


def test_a_key_given_twice_is_an_error() -> None:
    text = EXAMPLE.replace("    name: 王秀英\n", "    name: 王秀英\n    name: 王秀\n")
    _, errors = check_city(read_yaml(text), current_year=YEAR)
    assert [(str(e)) for e in errors] == [
        "line 16: residents[0] (r-0001).name: this key is given twice"
    ]


def test_a_missing_key_is_reported_on_the_line_of_its_row() -> None:
    text = EXAMPLE.replace("    address: 天桥区纬北路12号3单元201\n", "")
    _, errors = check_city(read_yaml(text), current_year=YEAR)
    assert [str(e) for e in errors] == ["line 14: residents[0] (r-0001): address is required"]


# --- every kind of error, at its place ----------------------------------------------


def test_empty_or_wrong_top_level() -> None:
    assert one_error(None) == (
        "file",
        "is empty: expected communities: and/or residents:",
    )
    assert one_error(["a"]) == ("file", "must be a mapping (key: value), not a list")
    assert one_error({"residents": "r-1"}) == ("residents", "must be a list, not text ('r-1')")
    assert one_error({"resident": []}) == (
        "file",
        "unknown key 'resident' (did you mean 'residents'?); allowed: communities, residents",
    )
    assert errors_of({}) == []


def test_unknown_keys_are_typos() -> None:
    doc = document()
    doc["residents"][0]["contacts"][1]["phnoe"] = "+8613900000003"
    assert one_error(doc) == (
        "residents[0] (r-0001).contacts[1]",
        (
            "unknown key 'phnoe' (did you mean 'phone'?); allowed: "
            "name, relation, phone, priority, channel, language"
        ),
    )
    doc = document()
    doc["communities"][0]["workers"][0]["shifts"][0]["until"] = "20:00"
    place, message = one_error(doc)
    assert place == "communities[0] (kangqiao).workers[0] (w-zhang).shifts[0]"
    assert message.startswith("unknown key 'until'")


@pytest.mark.parametrize(
    ("path", "key", "place"),
    [
        (("communities", 0), "name", "communities[0] (kangqiao)"),
        (("communities", 0), "street", "communities[0] (kangqiao)"),
        (("communities", 0), "district", "communities[0] (kangqiao)"),
        (
            ("communities", 0, "workers", 0),
            "phone",
            "communities[0] (kangqiao).workers[0] (w-zhang)",
        ),
        (
            ("communities", 0, "providers", 0),
            "category",
            "communities[0] (kangqiao).providers[0] (p-meal-1)",
        ),
        (("residents", 0), "name", "residents[0] (r-0001)"),
        (("residents", 0), "community", "residents[0] (r-0001)"),
        (("residents", 0), "address", "residents[0] (r-0001)"),
        (("residents", 0, "contacts", 1), "phone", "residents[0] (r-0001).contacts[1]"),
        (("residents", 0, "contacts", 1), "priority", "residents[0] (r-0001).contacts[1]"),
        (("residents", 0, "contacts", 1), "name", "residents[0] (r-0001).contacts[1]"),
        (
            ("communities", 0, "workers", 0, "shifts", 0),
            "start",
            "communities[0] (kangqiao).workers[0] (w-zhang).shifts[0]",
        ),
    ],
)
def test_required_fields(path: tuple[Any, ...], key: str, place: str) -> None:
    doc = document()
    row: Any = doc
    for step in path:
        row = row[step]
    del row[key]
    assert one_error(doc) == (place, f"{key} is required")
    row[key] = None
    assert one_error(doc) == (f"{place}.{key}", f"{key} is required")


def test_missing_id_names_the_row_by_index() -> None:
    doc = document()
    del doc["residents"][0]["id"]
    assert one_error(doc) == ("residents[0]", "id is required")


def test_required_text_must_not_be_empty() -> None:
    doc = document()
    doc["residents"][0]["address"] = "  "
    assert one_error(doc) == ("residents[0] (r-0001).address", "must not be empty")


def test_types() -> None:
    doc = document()
    doc["residents"][0]["name"] = 12
    doc["residents"][0]["contacts"] = {"name": "x"}
    doc["communities"][0]["workers"][0]["shifts"] = "mon-sun 08:00-20:00"
    doc["communities"][0]["providers"][0] = "p-meal-1"
    assert errors_of(doc) == [
        (
            "communities[0] (kangqiao).workers[0] (w-zhang).shifts",
            "must be a list, not text ('mon-sun 08:00-20:00')",
        ),
        (
            "communities[0] (kangqiao).providers[0]",
            "must be a mapping (key: value), not text ('p-meal-1')",
        ),
        ("residents[0] (r-0001).name", "must be text, not a number (12); quote it"),
        ("residents[0] (r-0001).contacts", "must be a list, not a mapping"),
    ]


def test_nul_characters_are_refused() -> None:
    doc = document()
    doc["residents"][0]["medical"] = "高血压\x00"
    assert one_error(doc) == ("residents[0] (r-0001).medical", "contains a NUL character")


def test_too_long_text() -> None:
    doc = document()
    doc["residents"][0]["address"] = "x" * 257
    assert one_error(doc) == (
        "residents[0] (r-0001).address",
        "is 257 characters long; at most 256",
    )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("r 1", "bad id 'r 1': use 1 to 64 of A-Z a-z 0-9 - _ (no spaces)"),
        ("", "bad id '': use 1 to 64 of A-Z a-z 0-9 - _ (no spaces)"),
        ("r" * 65, f"bad id {'r' * 65!r}: use 1 to 64 of A-Z a-z 0-9 - _ (no spaces)"),
        ("王", "bad id '王': use 1 to 64 of A-Z a-z 0-9 - _ (no spaces)"),
        (
            1001,
            "must be text, not a number (1001); quote it so that YAML keeps it as written",
        ),
    ],
)
def test_bad_ids(bad: object, message: str) -> None:
    doc = document()
    doc["residents"][0]["id"] = bad
    assert one_error(doc) == ("residents[0].id", message)


def test_bad_terminal_id_and_community_reference() -> None:
    doc = document()
    doc["residents"][0]["terminal"] = "T 1"
    doc["residents"][0]["community"] = "kang qiao"
    assert errors_of(doc) == [
        (
            "residents[0] (r-0001).community",
            "bad id 'kang qiao': use 1 to 64 of A-Z a-z 0-9 - _ (no spaces)",
        ),
        (
            "residents[0] (r-0001).terminal",
            "bad id 'T 1': use 1 to 64 of A-Z a-z 0-9 - _ (no spaces)",
        ),
    ]


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        (
            8613900000002,
            'must be a quoted E.164 number like "+8613900000002", not a bare number',
        ),
        (
            "13900000002",
            (
                "'13900000002' is not in E.164 form: a + then the country code and number, "
                "no spaces or dashes, like +8613800000001"
            ),
        ),
        (
            "+86-139-0000-0002",
            (
                "'+86-139-0000-0002' is not in E.164 form: a + then the country code and number, "
                "no spaces or dashes, like +8613800000001"
            ),
        ),
        ("+861390000000", "'+861390000000' is not a valid number for country code +86"),
        ("+861012", "'+861012' is not a valid number for country code +86"),
        (
            "+8610",
            (
                "'+8610' is not in E.164 form: a + then the country code and number, "
                "no spaces or dashes, like +8613800000001"
            ),
        ),
        ("+99912345678", "'+99912345678' does not start with a known country code"),
        (["+8613900000002"], "must be a quoted E.164 number, not a list"),
    ],
)
def test_bad_phones(phone: object, message: str) -> None:
    doc = document()
    doc["residents"][0]["contacts"][1]["phone"] = phone
    assert one_error(doc) == ("residents[0] (r-0001).contacts[1].phone", message)


def test_other_countries_phones_are_fine() -> None:
    doc = document()
    doc["residents"][0]["contacts"][1]["phone"] = "+442079460958"
    doc["residents"][0]["contacts"][0]["phone"] = "+12025550123"
    assert errors_of(doc) == []


def test_bad_worker_and_provider_phones_are_named() -> None:
    doc = document()
    doc["communities"][0]["workers"][0]["phone"] = "+8613"
    doc["communities"][0]["providers"][0]["phone"] = "+8613"
    assert [place for place, _ in errors_of(doc)] == [
        "communities[0] (kangqiao).workers[0] (w-zhang).phone",
        "communities[0] (kangqiao).providers[0] (p-meal-1).phone",
    ]


def test_duplicate_ids_of_each_kind() -> None:
    doc = document()
    community = doc["communities"][0]
    community["workers"].append(dict(community["workers"][0]))
    community["providers"].append(dict(community["providers"][0]))
    second = copy.deepcopy(community)
    second.pop("workers")
    second.pop("providers")
    doc["communities"].append(second)
    doc["residents"].append(resident(1, terminal="T-0002"))
    doc["residents"].append(resident(2, terminal="T-0001"))
    assert errors_of(doc) == [
        (
            "communities[0] (kangqiao).workers[1] (w-zhang).id",
            (
                "worker 'w-zhang' is already given at communities[0] (kangqiao).workers[0] "
                "(w-zhang).id"
            ),
        ),
        (
            "communities[0] (kangqiao).providers[1] (p-meal-1).id",
            (
                "provider 'p-meal-1' is already given at communities[0] (kangqiao).providers[0] "
                "(p-meal-1).id"
            ),
        ),
        (
            "communities[1] (kangqiao).id",
            "community 'kangqiao' is already given at communities[0] (kangqiao).id",
        ),
        (
            "residents[1] (r-0001).id",
            "resident 'r-0001' is already given at residents[0] (r-0001).id",
        ),
        (
            "residents[2] (r-0002).terminal",
            "terminal 'T-0001' is already given at residents[0] (r-0001).terminal",
        ),
    ]


def test_duplicate_places_name_their_line() -> None:
    text = EXAMPLE + EXAMPLE[EXAMPLE.index("  - id: r-0001") :].replace("T-0001", "T-0002")
    _, errors = check_city(read_yaml(text), current_year=YEAR)
    assert [str(e) for e in errors] == [
        (
            "line 25: residents[1] (r-0001).id: resident 'r-0001' is already given at "
            "residents[0] (r-0001).id (line 14)"
        )
    ]


def test_a_worker_id_is_unique_across_communities() -> None:
    doc = document()
    other = {"id": "lixia", "name": "历下社区", "street": "s", "district": "d"}
    other["workers"] = copy.deepcopy(doc["communities"][0]["workers"])
    doc["communities"].append(other)
    place, message = one_error(doc)
    assert place == "communities[1] (lixia).workers[0] (w-zhang).id"
    assert message.startswith("worker 'w-zhang' is already given at communities[0]")


def test_resident_community_must_exist_here_or_in_the_database() -> None:
    doc = {"residents": [resident(1)]}
    assert one_error(doc) == (
        "residents[0] (r-0001).community",
        "community 'kangqiao' is neither in this file nor in the database",
    )
    assert errors_of(doc, existing_communities={"kangqiao"}) == []
    doc = document()
    doc["residents"][0]["community"] = "kangqaio"
    assert one_error(doc) == (
        "residents[0] (r-0001).community",
        (
            "community 'kangqaio' is neither in this file nor in the database "
            "(did you mean 'kangqiao'?)"
        ),
    )


@pytest.mark.parametrize(
    ("priority", "message"),
    [
        (0, "must be a whole number from 1 (first called), not 0"),
        (-1, "must be a whole number from 1 (first called), not -1"),
        ("1", "must be a whole number from 1 (first called), not '1'"),
        (1.5, "must be a whole number from 1 (first called), not 1.5"),
        (True, "must be a whole number from 1 (first called), not True"),
        (
            1,
            (
                "priority 1 is also given to residents[0] (r-0001).contacts[0]; "
                "each contact of a resident needs its own"
            ),
        ),
    ],
)
def test_contact_priorities(priority: object, message: str) -> None:
    doc = document()
    doc["residents"][0]["contacts"][1]["priority"] = priority
    assert one_error(doc) == ("residents[0] (r-0001).contacts[1].priority", message)


def test_priorities_are_per_resident() -> None:
    doc = document()
    doc["residents"].append(resident(2))
    data, errors = check_city(doc, current_year=YEAR)
    assert errors == []
    assert [(c.resident_id, c.priority) for c in data.contacts] == [
        ("r-0001", 1),
        ("r-0001", 2),
        ("r-0002", 1),
        ("r-0002", 2),
    ]


@pytest.mark.parametrize(
    ("year", "message"),
    [
        (1899, "1899 is not plausible: use 1900..2026"),
        (2027, "2027 is not plausible: use 1900..2026"),
        ("1938", "must be a whole year like 1938, not text ('1938')"),
        (1938.0, "must be a whole year like 1938, not a number (1938.0)"),
    ],
)
def test_birth_year(year: object, message: str) -> None:
    doc = document()
    doc["residents"][0]["birth_year"] = year
    assert one_error(doc) == ("residents[0] (r-0001).birth_year", message)


def test_birth_year_bounds_are_inclusive() -> None:
    for year in (1900, YEAR):
        doc = document()
        doc["residents"][0]["birth_year"] = year
        assert errors_of(doc) == []


def test_languages_and_channels() -> None:
    doc = document()
    doc["residents"][0]["language"] = "zh-cn"
    doc["residents"][0]["contacts"][0]["language"] = "fr"
    doc["residents"][0]["contacts"][1]["channel"] = "email"
    assert errors_of(doc) == [
        ("residents[0] (r-0001).language", "unknown language 'zh-cn'; use one of: zh-CN, en"),
        (
            "residents[0] (r-0001).contacts[0].language",
            "unknown language 'fr'; use one of: zh-CN, en",
        ),
        (
            "residents[0] (r-0001).contacts[1].channel",
            "unknown channel 'email'; use one of: voice, sms",
        ),
    ]


@pytest.mark.parametrize(
    ("shift", "message"),
    [
        (
            {"days": "mon-sn", "start": "08:00", "end": "20:00"},
            "bad day 'sn' in days 'mon-sn'",
        ),
        ({"days": "mon-sun", "start": "8:00", "end": "20:00"}, "bad time '8:00'"),
        ({"days": "mon-sun", "start": "08:00", "end": "24:01"}, "bad time '24:01'"),
        (
            {"days": "mon-sun", "start": "08:00", "end": 1200},
            'must be a quoted time like "20:00", not the number 1200',
        ),
        ({"days": ["mon"], "start": "08:00", "end": "20:00"}, "must be text, not a list"),
        ("mon-sun 08:00-20:00", "must be a mapping (key: value)"),
    ],
)
def test_bad_shifts(shift: object, message: str) -> None:
    doc = document()
    doc["communities"][0]["workers"][0]["shifts"] = [
        {"days": "sat,sun", "start": "20:00", "end": "08:00"},
        shift,
    ]
    place, got = one_error(doc)
    assert place.startswith("communities[0] (kangqiao).workers[0] (w-zhang).shifts[1]")
    assert message in got


def test_shifts_that_roster_accepts_are_kept_as_written() -> None:
    doc = document()
    shifts = [
        {"days": "mon-fri", "start": "08:00", "end": "20:00"},
        {"days": "sat,sun", "start": "20:00", "end": "08:00"},
        {"days": "daily", "start": "00:00", "end": "24:00"},
    ]
    doc["communities"][0]["workers"][0]["shifts"] = shifts
    data, errors = check_city(doc, current_year=YEAR)
    assert errors == []
    assert [s.as_json() for s in data.workers[0].shifts] == shifts


def test_many_errors_are_reported_at_once_in_file_order() -> None:
    text = """\
communities:
  - id: kangqiao
    name: 康桥社区
    street: 纬北路街道
    district: 天桥区
    workers:
      - id: w-zhang
        name: 张丽
        phone: "+86138"
        shifts: [{days: mon-sun, start: "08:00", end: "25:00"}]
residents:
  - id: r-0001
    name: 王秀英
    birth_year: 1838
    community: kangqiao
    address: 天桥区纬北路12号3单元201
    terminal: T-0001
    contacts:
      - {name: 李娜, phone: "+8613900000001", priority: 1}
      - {name: 赵强, phone: "+8613900000002", priority: 1}
  - id: r-0002
    name: 李
    community: lixia
    address: 纬北路2号
    terminal: T-0001
    languge: en
"""
    _, errors = check_city(read_yaml(text), current_year=YEAR)
    assert [(e.line, e.place) for e in errors] == [
        (9, "communities[0] (kangqiao).workers[0] (w-zhang).phone"),
        (10, "communities[0] (kangqiao).workers[0] (w-zhang).shifts[0]"),
        (14, "residents[0] (r-0001).birth_year"),
        (20, "residents[0] (r-0001).contacts[1].priority"),
        (23, "residents[1] (r-0002).community"),
        (25, "residents[1] (r-0002).terminal"),
        (26, "residents[1] (r-0002)"),
    ]


def test_rows_with_errors_are_left_out_but_others_are_kept() -> None:
    doc = document()
    doc["residents"].append(resident(2, birth_year=1800))
    doc["residents"].append(resident(3))
    data, errors = check_city(doc, current_year=YEAR)
    assert len(errors) == 1
    assert [r.id for r in data.residents] == ["r-0001", "r-0003"]
