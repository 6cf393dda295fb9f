"""What `--scope` takes (`dispatcher.rules.scopes.parse`): a level and a name."""

from __future__ import annotations

import pytest

from dispatcher.rules.scopes import Level, Scope, parse


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("district:天桥区", Scope(Level.DISTRICT, "天桥区")),
        ("street:纬北路街道", Scope(Level.STREET, "纬北路街道")),
        ("community:kangqiao", Scope(Level.COMMUNITY, "kangqiao")),
        (" street : 纬北路街道 ", Scope(Level.STREET, "纬北路街道")),
    ],
)
def test_a_scope_is_a_level_and_a_name(text: str, scope: Scope) -> None:
    assert parse(text) == scope
    assert parse(str(scope)) == scope  # as the users table keeps it


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("纬北路街道", "is not one of district:NAME, street:NAME, community:NAME"),
        ("city:济南", "is not one of"),
        ("street:", "give a name"),
        ("street:  ", "give a name"),
        ("street:a\nb", "give a name"),
        ("street:" + "x" * 129, "give a name"),
    ],
)
def test_a_scope_that_names_no_part_of_a_city_says_why(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse(text)
