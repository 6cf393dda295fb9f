"""Reading a city file: what PyYAML would build, with the line of every mapping and key,
every problem named by its line, and the garbage collector left on."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
import yaml

from dispatcher.city_file.read import MAX_DEPTH, LineDict, line_of, read_document, read_yaml
from dispatcher.city_file.rows import CityDataError
from simulators.city import generate_city


def test_a_generated_city_reads_as_pyyaml_reads_it() -> None:
    # the generator shares each shift list between workers: anchors and aliases
    text = yaml.dump(generate_city(700, seed=3), allow_unicode=True, sort_keys=False)
    assert "&id001" in text
    assert read_yaml(text) == yaml.load(text, Loader=yaml.SafeLoader)


def test_mappings_and_keys_know_their_lines() -> None:
    text = "residents:\n  - id: r-1\n    contacts:\n      - {name: 李娜, priority: 1}\n"
    document = read_yaml(text)
    resident = document["residents"][0]
    contact = resident["contacts"][0]
    assert isinstance(resident, LineDict)
    assert (line_of(document, "residents"), line_of(resident), line_of(resident, "contacts")) == (
        1,
        2,
        3,
    )
    assert (line_of(contact), line_of(contact, "priority"), line_of(contact, "phone")) == (4, 4, 4)
    assert line_of(["not", "a", "mapping"]) is None


def test_keys_given_twice_are_kept_with_their_lines() -> None:
    document = read_yaml("a: 1\nb: 2\na: 3\n")
    assert document == {"a": 3, "b": 2}
    assert document.duplicate_keys == [("a", 3)]
    assert document.key_lines == {"a": 3, "b": 2}


def test_merge_keys_come_first_so_an_own_key_again_is_twice_given() -> None:
    text = """\
base: &base {name: 王, address: 纬北路1号}
again:
  <<: [*base, *base]
  name: 李
"""
    document = read_yaml(text)
    assert document["again"] == {"name": "李", "address": "纬北路1号"}
    # the same mapping merged twice adds its keys once
    assert document["again"].duplicate_keys == [("name", 4)]
    assert document["again"].key_lines == {"name": 4, "address": 1}


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        ("a: *nowhere\n", "found undefined alias", 1),
        ("a: &x 1\nb: &x 2\n", "found duplicate anchor; first occurrence", 2),
        ("a: 1\n---\nb: 2\n", "expected a single document in the stream", 2),
        ("a:\n  <<: 5\n", "expected a mapping or list of mappings for merging", 2),
        ("{[1]: 2}: x\n", "found a key that is not a plain value", 1),
        ("a: !!python/name:os.system x\n", "could not determine a constructor", 1),
    ],
)
def test_yaml_problems_are_named_by_line(text: str, problem: str, line: int) -> None:
    with pytest.raises(yaml.MarkedYAMLError) as info:
        read_yaml(text)
    assert problem in f"{info.value.context} {info.value.problem}"
    assert info.value.problem_mark is not None
    assert info.value.problem_mark.line + 1 == line


def test_a_syntax_error_is_reported_before_a_value_that_does_not_build() -> None:
    # as PyYAML does: the whole file is parsed before any value is built
    with pytest.raises(yaml.MarkedYAMLError) as info:
        read_yaml("a: !!int x\nb: [unclosed\n")
    assert info.value.problem == "did not find expected ',' or ']'"


@pytest.mark.parametrize(
    ("text", "line", "value", "tag"),
    [
        (b"paused_until: 2026-13-05\n", 1, "2026-13-05", "!!timestamp"),
        (b"id: r-1\nbirth_year: !!int 19x8\n", 2, "19x8", "!!int"),
    ],
)
def test_a_value_that_does_not_fit_its_tag_is_an_error_not_a_crash(
    text: bytes, line: int, value: str, tag: str
) -> None:
    with pytest.raises(CityDataError) as info:
        read_document(text)
    (error,) = info.value.errors
    assert (error.line, error.message) == (
        line,
        f"is not valid YAML: {value!r} is not a valid {tag}; quote it if it is meant as text",
    )


def test_too_deep_nesting_is_an_error_not_a_crash() -> None:
    assert read_yaml("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    text = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(yaml.MarkedYAMLError, match=f"nest deeper than {MAX_DEPTH}"):
        read_yaml(text)


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generations the garbage collector collected while the test ran."""
    seen: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(count)
    yield seen
    gc.callbacks.remove(count)


def test_reading_leaves_the_garbage_collector_on(collections: list[int]) -> None:
    # a process that reads a city file may be serving alarms from its other threads
    text = yaml.dump(generate_city(700, seed=3), allow_unicode=True, sort_keys=False)
    assert gc.isenabled()
    read_yaml(text)
    assert gc.isenabled()
    assert collections, "no collection ran while the file was read"
