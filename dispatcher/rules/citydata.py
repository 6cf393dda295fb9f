"""The city data file of `dispatcher load FILE.yaml` (DESIGN.md §6): checked, then typed.

Pure: a YAML text or an already loaded document in, rows and errors out. No file, no
database, no clock (the current year and the communities already in the database are
arguments).

Every error is collected, not only the first, as a `CityError` that names its place in
the file (`residents[12] (r-0013).contacts[1].phone`) and, when the document came from
`load_yaml`, its line.

What a file says about a community or a resident it lists:

- the community's or resident's own fields replace those in the database;
- a list that is given replaces what the database holds: `workers:` and `providers:`
  of a community, `contacts:` of a resident (an empty list or `null` removes them all);
  `terminal:` of a resident (`null` detaches the resident's terminal);
- a key that is left out leaves that part as it is in the database, so a file of new
  residents with only the headers of their communities does not remove any worker.

Rows the file does not list are left alone: loading never removes a community, a
resident or a terminal.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from dispatcher.rules.city_fields import E164_RE, ID_RE, Checker
from dispatcher.rules.city_parser import CityParser
from dispatcher.rules.city_rows import (
    ADDRESS_MAX,
    CATEGORY_MAX,
    CONTACT_CHANNELS,
    DEFAULT_LANGUAGE,
    LANGUAGES,
    MEDICAL_MAX,
    MIN_BIRTH_YEAR,
    NAME_MAX,
    RELATION_MAX,
    CityData,
    CityError,
    CommunityRow,
    ContactRow,
    ProviderRow,
    ResidentRow,
    ShiftRow,
    TerminalRow,
    WorkerRow,
)
from dispatcher.rules.city_yaml import LineDict, line_of, load_yaml

# the names this module has always offered, wherever they are defined now
__all__ = [
    "ADDRESS_MAX",
    "CATEGORY_MAX",
    "CONTACT_CHANNELS",
    "DEFAULT_LANGUAGE",
    "E164_RE",
    "ID_RE",
    "LANGUAGES",
    "MEDICAL_MAX",
    "MIN_BIRTH_YEAR",
    "NAME_MAX",
    "RELATION_MAX",
    "CityData",
    "CityError",
    "CommunityRow",
    "ContactRow",
    "LineDict",
    "ProviderRow",
    "ResidentRow",
    "ShiftRow",
    "TerminalRow",
    "WorkerRow",
    "load_yaml",
    "parse_city",
]

_TOP_KEYS: Final = ("communities", "residents")


def parse_city(
    document: object,
    *,
    current_year: int,
    existing_communities: Collection[str] = frozenset(),
) -> tuple[CityData, list[CityError]]:
    """Check a loaded city file and type its rows.

    `existing_communities` are the community ids already in the database, which
    residents may name without the file listing them. Returns the rows that are right
    and every error, in file order; load nothing unless the errors are empty.
    """
    parser = CityParser(Checker(current_year))
    checker = parser.checker
    if document is None:
        checker.error("file", "is empty: expected communities: and/or residents:", None)
        return CityData(), checker.errors
    top = checker.mapping(document, "file", line_of(document), _TOP_KEYS)
    if top is None:
        return CityData(), checker.errors
    for _, item, place, line in checker.items(top, "communities", ""):
        parser.community(item, place, line)
    known = set(parser.community_seen.first) | set(existing_communities)
    for _, item, place, line in checker.items(top, "residents", ""):
        parser.resident(item, place, line, known)
    # file order: a stable sort keeps each line's errors in the order they were found
    errors = sorted(checker.errors, key=lambda e: (e.line is None, e.line or 0))
    return parser.data(), errors
