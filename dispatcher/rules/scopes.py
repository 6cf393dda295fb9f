"""What part of the city a user sees (docs/api.md, "Scopes"). Pure.

A scope is a district, a street or one community, named as in the city file
(`district:天桥区`, `street:纬北路街道`, `community:C-01`); no scope is the whole city. It
comes down to the ids of the communities of that district or street, or the one
(`users.accounts.scope_communities`): every list, view, action, report, export, the
live feed, the wall and the map show only what belongs to one of them.
"""

from __future__ import annotations

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


def parse(text: str) -> Scope:
    """`district:NAME`, `street:NAME` or `community:ID`; ValueError saying what is wrong."""
    level, sep, name = text.partition(":")
    levels = ", ".join(f"{lv.value}:NAME" for lv in Level)
    if not sep or level.strip() not in {lv.value for lv in Level}:
        raise ValueError(f"scope {text!r} is not one of {levels}")
    name = name.strip()
    if not name or len(name) > 128 or not name.isprintable():
        raise ValueError(
            f"scope {text!r}: give a name of 1 to 128 printable characters after the colon"
        )
    return Scope(Level(level.strip()), name)
