"""What part of the city a user sees (docs/api.md, "Scopes"). Pure.

A scope is a district, a street or one community, named as in the city file
(`district:天桥区`, `street:纬北路街道`, `community:C-01`); no scope is the whole city. It
comes down to a set of community ids: every list, view, action, report, export, the
live feed, the wall and the map show only what belongs to one of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"


@dataclass(frozen=True, slots=True)
class Scope:
    level: Level
    name: str
    """The district's or street's name, or the community's id."""

    def __str__(self) -> str:
        return f"{self.level.value}:{self.name}"


@dataclass(frozen=True, slots=True)
class Place:
    """Where a community lies, as the city file names it."""

    community_id: str
    street: str
    district: str


def parse(text: str) -> Scope:
    """`district:NAME`, `street:NAME` or `community:ID`; ValueError saying what is wrong."""
    level, sep, name = text.partition(":")
    levels = ", ".join(f"{lv.value}:NAME" for lv in Level)
    if not sep or level.strip() not in {lv.value for lv in Level}:
        raise ValueError(f"scope {text!r} is not one of {levels}")
    name = name.strip()
    if not name or len(name) > 128 or not name.isprintable():
        raise ValueError(f"scope {text!r} names nothing: give the name after the colon")
    return Scope(Level(level.strip()), name)


def covers(scope: Scope, place: Place) -> bool:
    if scope.level is Level.DISTRICT:
        return place.district == scope.name
    if scope.level is Level.STREET:
        return place.street == scope.name
    return place.community_id == scope.name


def communities_in(scope: Scope | None, places: Iterable[Place]) -> frozenset[str] | None:
    """The ids of the communities the scope holds; None for the whole city (no scope),
    which also sees what belongs to no community."""
    if scope is None:
        return None
    return frozenset(p.community_id for p in places if covers(scope, p))


def sees(communities: frozenset[str] | None, community_id: str | None) -> bool:
    """Whether a user with these communities (None: the whole city) sees what belongs to
    `community_id` (None: nothing in particular, a terminal without a resident)."""
    return communities is None or (community_id is not None and community_id in communities)
