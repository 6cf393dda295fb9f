"""The checks of the fields of a city file: structure (mappings with known keys, lists),
text, ids, phone numbers, languages, birth years, priorities, shifts, and ids given
twice.

Pure. Every check reports its errors, named by place and line, to one `Checker` and
returns the checked value, or None when it is wrong.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

import phonenumbers

from dispatcher.city_file.read import LineDict, line_of
from dispatcher.city_file.rows import (
    E164_RE,
    ID_RE,
    MIN_BIRTH_YEAR,
    REASON_MAX,
    CheckinRow,
    CityError,
    ShiftRow,
)
from dispatcher.rules.checkins import parse_window
from dispatcher.rules.roster import parse_shift

_SHIFT_KEYS: Final = ("days", "start", "end")
_CHECKIN_KEYS: Final = ("window", "paused_until", "reason")


def _type_name(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"true/false ({value!r})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"text ({value!r})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _label(mapping: Mapping[Any, Any]) -> str:
    """` (r-0013)` after a row's index when its id reads as one."""
    ident = mapping.get("id")
    return f" ({ident})" if isinstance(ident, str) and ID_RE.fullmatch(ident) else ""


class Checker:
    """The errors of one file, and the checks that find them."""

    def __init__(self, current_year: int) -> None:
        self.current_year = current_year
        self.errors: list[CityError] = []

    def error(self, place: str, message: str, line: int | None) -> None:
        self.errors.append(CityError(place, message, line))

    # structure

    def mapping(
        self, value: object, place: str, line: int | None, keys: Iterable[str]
    ) -> Mapping[Any, Any] | None:
        """A mapping with only `keys`; reports unknown and twice-given keys."""
        if not isinstance(value, dict):
            self.error(place, f"must be a mapping (key: value), not {_type_name(value)}", line)
            return None
        allowed = tuple(keys)
        for key in value:
            if key not in allowed:
                hint = ""
                if isinstance(key, str):
                    close = difflib.get_close_matches(key, allowed, n=1)
                    if close:
                        hint = f" (did you mean {close[0]!r}?)"
                self.error(
                    place,
                    f"unknown key {key!r}{hint}; allowed: {', '.join(allowed)}",
                    line_of(value, key),
                )
        if isinstance(value, LineDict):
            for key, key_line in value.duplicate_keys:
                self.error(f"{place}.{key}", "this key is given twice", key_line)
        return value

    def items(
        self, mapping: Mapping[Any, Any], key: str, place: str
    ) -> list[tuple[int, Any, str, int | None]]:
        """The entries of an optional list (`null` is an empty list): (index, item,
        place, line)."""
        value = mapping.get(key)
        here = f"{place}.{key}" if place else key
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(here, f"must be a list, not {_type_name(value)}", line_of(mapping, key))
            return []
        line = line_of(mapping, key)
        result = []
        for index, item in enumerate(value):
            label = _label(item) if isinstance(item, dict) else ""
            item_line = line_of(item) if isinstance(item, dict) else line
            result.append((index, item, f"{here}[{index}]{label}", item_line))
        return result

    # fields

    def text(
        self,
        mapping: Mapping[Any, Any],
        key: str,
        place: str,
        *,
        max_len: int,
        required: bool = True,
        default: str = "",
    ) -> str | None:
        here, line = f"{place}.{key}", line_of(mapping, key)
        if key not in mapping or mapping[key] is None:
            if required:
                self.error(here if key in mapping else place, f"{key} is required", line)
                return None
            return default
        value = mapping[key]
        if not isinstance(value, str):
            self.error(here, f"must be text, not {_type_name(value)}; quote it", line)
            return None
        value = value.strip()
        if "\x00" in value:
            # PostgreSQL cannot store it, and no name or address has one
            self.error(here, "contains a NUL character", line)
            return None
        if required and not value:
            self.error(here, "must not be empty", line)
            return None
        if len(value) > max_len:
            self.error(here, f"is {len(value)} characters long; at most {max_len}", line)
            return None
        return value

    def ident(
        self, mapping: Mapping[Any, Any], key: str, place: str, *, required: bool = True
    ) -> str | None:
        here, line = f"{place}.{key}", line_of(mapping, key)
        if key not in mapping or mapping[key] is None:
            if required:
                self.error(here if key in mapping else place, f"{key} is required", line)
            return None
        value = mapping[key]
        if not isinstance(value, str):
            self.error(
                here,
                f"must be text, not {_type_name(value)}; quote it so that YAML keeps it as written",
                line,
            )
            return None
        if not ID_RE.fullmatch(value):
            self.error(here, f"bad id {value!r}: use 1 to 64 of A-Z a-z 0-9 - _ (no spaces)", line)
            return None
        return value

    def phone(self, mapping: Mapping[Any, Any], key: str, place: str) -> str | None:
        here, line = f"{place}.{key}", line_of(mapping, key)
        if key not in mapping or mapping[key] is None:
            self.error(here if key in mapping else place, f"{key} is required", line)
            return None
        value = mapping[key]
        if isinstance(value, int) and not isinstance(value, bool):
            self.error(
                here,
                f'must be a quoted E.164 number like "+{value}", not a bare number',
                line,
            )
            return None
        if not isinstance(value, str):
            self.error(here, f"must be a quoted E.164 number, not {_type_name(value)}", line)
            return None
        return self._e164(value.strip(), here, line)

    def _e164(self, value: str, here: str, line: int | None) -> str | None:
        if not E164_RE.fullmatch(value):
            self.error(
                here,
                f"{value!r} is not in E.164 form: a + then the country code and number, "
                "no spaces or dashes, like +8613800000001",
                line,
            )
            return None
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException as exc:
            if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
                self.error(here, f"{value!r} does not start with a known country code", line)
            else:
                self.error(here, f"{value!r} is not a phone number: {exc._msg}", line)
            return None
        if not phonenumbers.is_valid_number(number):
            self.error(
                here,
                f"{value!r} is not a valid number for country code +{number.country_code}",
                line,
            )
            return None
        return value

    def choice(
        self, mapping: Mapping[Any, Any], key: str, place: str, allowed: Collection[str]
    ) -> tuple[bool, str | None]:
        """An optional value from `allowed`: (ok, value or None when absent)."""
        value = mapping.get(key)
        if value is None:
            return True, None
        if not isinstance(value, str) or value not in allowed:
            self.error(
                f"{place}.{key}",
                f"unknown {key} {value!r}; use one of: {', '.join(allowed)}",
                line_of(mapping, key),
            )
            return False, None
        return True, value

    def birth_year(self, mapping: Mapping[Any, Any], place: str) -> tuple[bool, int | None]:
        value = mapping.get("birth_year")
        if value is None:
            return True, None
        here, line = f"{place}.birth_year", line_of(mapping, "birth_year")
        if not isinstance(value, int) or isinstance(value, bool):
            self.error(here, f"must be a whole year like 1938, not {_type_name(value)}", line)
            return False, None
        if not MIN_BIRTH_YEAR <= value <= self.current_year:
            self.error(
                here, f"{value} is not plausible: use {MIN_BIRTH_YEAR}..{self.current_year}", line
            )
            return False, None
        return True, value

    def location(
        self, mapping: Mapping[Any, Any], place: str
    ) -> tuple[bool, tuple[float, float] | None]:
        """A home's `lat` and `lon` (WGS84 degrees), both or neither."""
        lat, lon = mapping.get("lat"), mapping.get("lon")
        if lat is None and lon is None:
            return True, None
        ok = True
        for key, value, limit in (("lat", lat, 90), ("lon", lon, 180)):
            here, line = f"{place}.{key}", line_of(mapping, key)
            if value is None:
                self.error(here, f"{key} is required with the other", line)
                ok = False
            elif not isinstance(value, int | float) or isinstance(value, bool):
                self.error(here, f"must be degrees like 36.65, not {_type_name(value)}", line)
                ok = False
            elif not -limit <= value <= limit:
                self.error(here, f"{value} is outside -{limit}..{limit} degrees", line)
                ok = False
        if not ok:
            return False, None
        return True, (float(lat), float(lon))  # type: ignore[arg-type]

    def priority(self, mapping: Mapping[Any, Any], place: str) -> int | None:
        here, line = f"{place}.priority", line_of(mapping, "priority")
        value = mapping.get("priority")
        if value is None:
            self.error(here if "priority" in mapping else place, "priority is required", line)
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.error(here, f"must be a whole number from 1 (first called), not {value!r}", line)
            return None
        return value

    def checkin(self, mapping: Mapping[Any, Any], place: str) -> tuple[bool, CheckinRow | None]:
        """A resident's `checkin: {window: "07:00-10:00", paused_until: 2026-12-05,
        reason: ...}`, all optional; `checkin: null` clears them."""
        if "checkin" not in mapping:
            return True, None
        if mapping["checkin"] is None:
            return True, CheckinRow()
        here = f"{place}.checkin"
        value = self.mapping(mapping["checkin"], here, line_of(mapping, "checkin"), _CHECKIN_KEYS)
        if value is None:
            return False, None
        window_ok, window = self._window(value, here)
        pause_ok, paused_until = self._pause(value, here)
        reason = self.text(value, "reason", here, max_len=REASON_MAX, required=False)
        if not (window_ok and pause_ok and reason is not None):
            return False, None
        return True, CheckinRow(window, paused_until, reason or None)

    def _window(self, mapping: Mapping[Any, Any], place: str) -> tuple[bool, str | None]:
        raw = mapping.get("window")
        here, line = f"{place}.window", line_of(mapping, "window")
        if raw is None:
            return True, None
        if not isinstance(raw, str):
            self.error(here, f'must be quoted text like "07:00-10:00", not {_type_name(raw)}', line)
            return False, None
        try:
            return True, str(parse_window(raw))
        except ValueError as exc:
            self.error(here, str(exc), line)
            return False, None

    def _pause(self, mapping: Mapping[Any, Any], place: str) -> tuple[bool, date | None]:
        raw = mapping.get("paused_until")
        here, line = f"{place}.paused_until", line_of(mapping, "paused_until")
        if raw is None:
            return True, None
        if isinstance(raw, date) and not isinstance(raw, datetime):
            return True, raw
        if isinstance(raw, str):
            try:
                return True, date.fromisoformat(raw.strip())
            except ValueError:
                pass
        self.error(here, f"must be a date like 2026-12-05, not {_type_name(raw)}", line)
        return False, None

    def optional_phone(
        self, mapping: Mapping[Any, Any], key: str, place: str
    ) -> tuple[bool, str | None]:
        """(ok, phone or None when absent)."""
        if mapping.get(key) is None:
            return True, None
        phone = self.phone(mapping, key, place)
        return phone is not None, phone

    def shift(self, value: object, place: str, line: int | None) -> ShiftRow | None:
        mapping = self.mapping(value, place, line, _SHIFT_KEYS)
        if mapping is None:
            return None
        parts: dict[str, str] = {}
        for key in _SHIFT_KEYS:
            raw = mapping.get(key)
            here, key_line = f"{place}.{key}", line_of(mapping, key)
            if raw is None:
                self.error(here if key in mapping else place, f"{key} is required", key_line)
            elif isinstance(raw, int) and not isinstance(raw, bool) and key != "days":
                # YAML 1.1 reads an unquoted 20:00 as the base-60 number 1200
                hours, minutes = divmod(raw, 60)
                self.error(
                    here,
                    f'must be a quoted time like "{hours:02d}:{minutes:02d}", not the number {raw}',
                    key_line,
                )
            elif not isinstance(raw, str):
                self.error(here, f"must be text, not {_type_name(raw)}", key_line)
            else:
                parts[key] = raw.strip()
        if len(parts) != len(_SHIFT_KEYS):
            return None
        try:
            parse_shift(parts["days"], parts["start"], parts["end"])
        except ValueError as exc:
            self.error(place, str(exc), line)
            return None
        return ShiftRow(parts["days"], parts["start"], parts["end"])


@dataclass(slots=True)
class Seen:
    """First place of each id of one kind, to report duplicates."""

    kind: str
    first: dict[str, str] = field(default_factory=dict)

    def add(self, checker: Checker, ident: str, place: str, line: int | None) -> bool:
        before = self.first.get(ident)
        if before is not None:
            checker.error(place, f"{self.kind} {ident!r} is already given at {before}", line)
            return False
        self.first[ident] = place if line is None else f"{place} (line {line})"
        return True
