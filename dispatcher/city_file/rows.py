"""The typed rows of a city file, what their fields may hold, and its errors: `CityError`,
one problem of the file, and `CityDataError`, a file refused with every problem."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final

ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
# E.164: a plus, a country code not starting with 0, at most 15 digits in all
E164_RE: Final = re.compile(r"\+[1-9][0-9]{4,14}")

# the languages a resident or contact may be spoken to in: the one place that lists them
LANGUAGES: Final = ("zh-CN", "en")
DEFAULT_LANGUAGE: Final = "zh-CN"
# a contact's preferred channel
CONTACT_CHANNELS: Final = ("voice", "sms")
MIN_BIRTH_YEAR: Final = 1900

# the lengths of the database columns (dispatcher/store/models.py)
REASON_MAX: Final = 500
NAME_MAX: Final = 128
ADDRESS_MAX: Final = 256
RELATION_MAX: Final = 64
CATEGORY_MAX: Final = 64
MEDICAL_MAX: Final = 4000


@dataclass(frozen=True, slots=True)
class CityError:
    """One problem of the file: where (`place`, and `line` when known) and what."""

    place: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: {self.place}" if self.line is not None else self.place
        return f"{where}: {self.message}"


class CityDataError(Exception):
    """The file has errors; nothing was written. `errors` lists every one."""

    def __init__(self, errors: Sequence[CityError]) -> None:
        self.errors: tuple[CityError, ...] = tuple(errors)
        first = str(self.errors[0]) if self.errors else "no details"
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"the city data has errors: {first}{more}")


@dataclass(frozen=True, slots=True)
class CommunityRow:
    id: str
    name: str
    street: str
    district: str
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ShiftRow:
    """A duty shift as the file writes it (checked with `roster.parse_shift`)."""

    days: str
    start: str
    end: str

    def as_json(self) -> dict[str, str]:
        """The form stored in `workers.shifts`."""
        return {"days": self.days, "start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class WorkerRow:
    id: str
    community_id: str
    name: str
    phone: str
    shifts: tuple[ShiftRow, ...]
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ProviderRow:
    id: str
    community_id: str
    name: str
    category: str
    phone: str
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class CheckinRow:
    """A resident's `checkin:` (docs/daily-care.md); `checkin: null` is all None (none)."""

    window: str | None = None  # "HH:MM-HH:MM", checked with `rules.checkins.parse_window`
    paused_until: date | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ResidentRow:
    id: str
    community_id: str
    name: str
    birth_year: int | None
    address: str
    language: str
    medical: str
    line: int | None = field(default=None, compare=False)
    # written only when the row gives them (a dashboard edit of the card, or a file of
    # addresses, must not clear a window set by the API): None means "as it is"
    phone: str | None = None
    service_default: str | None = None
    checkin: CheckinRow | None = None
    location: tuple[float, float] | None = None  # (lat, lon); given as "lat"
    # which of phone, service_default, checkin and lat/lon the row gives (an empty one clears it)
    given: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ContactRow:
    resident_id: str
    priority: int
    name: str
    relation: str
    phone: str
    channel: str | None
    language: str | None
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class TerminalRow:
    device_id: str
    resident_id: str
    line: int | None = field(default=None, compare=False)
    # docs/protocol.md: `dc09` terminals have an account (hex, upper case) and maybe a key
    protocol: str = "mqtt"
    account: str | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class CityData:
    """The rows of one file, in file order.

    The `*_for` sets say which lists the file gives (see `dispatcher.city_file`):
    only for those does the file replace what the database holds.
    """

    communities: tuple[CommunityRow, ...] = ()
    workers: tuple[WorkerRow, ...] = ()
    providers: tuple[ProviderRow, ...] = ()
    residents: tuple[ResidentRow, ...] = ()
    contacts: tuple[ContactRow, ...] = ()
    terminals: tuple[TerminalRow, ...] = ()
    # community ids whose `workers:` / `providers:` the file gives
    workers_for: frozenset[str] = frozenset()
    providers_for: frozenset[str] = frozenset()
    # resident ids whose `contacts:` / `terminal:` the file gives
    contacts_for: frozenset[str] = frozenset()
    terminal_for: frozenset[str] = frozenset()
