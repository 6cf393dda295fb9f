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

import difflib
import gc
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import phonenumbers
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from dispatcher.rules.roster import parse_shift

# the languages a resident or contact may be spoken to in: the one place that lists them
LANGUAGES: Final = ("zh-CN", "en")
DEFAULT_LANGUAGE: Final = "zh-CN"
# a contact's preferred channel
CONTACT_CHANNELS: Final = ("voice", "sms")
MIN_BIRTH_YEAR: Final = 1900
ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
# E.164: a plus, a country code not starting with 0, at most 15 digits in all
E164_RE: Final = re.compile(r"\+[1-9][0-9]{4,14}")

# the lengths of the database columns (dispatcher/store/models.py)
NAME_MAX: Final = 128
ADDRESS_MAX: Final = 256
RELATION_MAX: Final = 64
CATEGORY_MAX: Final = 64
MEDICAL_MAX: Final = 4000

_TOP_KEYS: Final = ("communities", "residents")
_COMMUNITY_KEYS: Final = ("id", "name", "street", "district", "workers", "providers")
_WORKER_KEYS: Final = ("id", "name", "phone", "shifts")
_SHIFT_KEYS: Final = ("days", "start", "end")
_PROVIDER_KEYS: Final = ("id", "name", "category", "phone")
_RESIDENT_KEYS: Final = (
    "id",
    "name",
    "birth_year",
    "community",
    "address",
    "language",
    "medical",
    "terminal",
    "contacts",
)
_CONTACT_KEYS: Final = ("name", "relation", "phone", "priority", "channel", "language")


@dataclass(frozen=True, slots=True)
class CityError:
    """One problem of the file: where (`place`, and `line` when known) and what."""

    place: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: {self.place}" if self.line is not None else self.place
        return f"{where}: {self.message}"


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
class ResidentRow:
    id: str
    community_id: str
    name: str
    birth_year: int | None
    address: str
    language: str
    medical: str
    line: int | None = field(default=None, compare=False)


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


@dataclass(frozen=True, slots=True)
class CityData:
    """The rows of one file, in file order.

    The `*_for` sets say which lists the file gives (see the module's docstring): only
    for those does the file replace what the database holds.
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


# --- YAML with line numbers --------------------------------------------------------


class LineDict(dict[Any, Any]):
    """A YAML mapping that remembers where it and each of its keys are (1-based lines)
    and which keys it had twice (YAML would silently keep the last)."""

    def __init__(self, line: int | None = None) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}
        self.duplicate_keys: list[tuple[Any, int]] = []


_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_INT_TAG: Final = "tag:yaml.org,2002:int"
_STR_TAG: Final = "tag:yaml.org,2002:str"
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
# plain scalars that YAML 1.1 reads as numbers although they are plainly text here:
# 20:00 would be the base-60 number 1200, +8613800000001 a number without its plus
_TEXT_LOOKING_INT: Final = re.compile(r"[0-9]{1,2}:[0-5][0-9]|\+[0-9]+")


def load_yaml(text: str) -> Any:
    """Read YAML (the safe subset) into dicts, lists and scalars, with `LineDict` for
    mappings. Unquoted `20:00` and `+8613800000001` stay text. Raises `yaml.YAMLError`."""
    # the node tree of a city is millions of small objects that all stay alive until
    # the end: the cyclic garbage collector would walk them again and again (5x slower)
    collecting = gc.isenabled()
    gc.disable()
    try:
        node = yaml.compose(text, Loader=_YAML_LOADER)
        return None if node is None else _Builder().build(node)
    finally:
        if collecting:
            gc.enable()


class _Builder:
    def __init__(self) -> None:
        self._constructor = yaml.constructor.SafeConstructor()
        self._built: dict[int, Any] = {}  # anchors: the same node gives the same object

    def build(self, node: Node) -> Any:
        known = self._built.get(id(node))
        if known is not None:
            return known
        if isinstance(node, MappingNode):
            return self._mapping(node)
        if isinstance(node, SequenceNode):
            items: list[Any] = []
            self._built[id(node)] = items
            items.extend(self.build(child) for child in node.value)
            return items
        if isinstance(node, ScalarNode):
            value = node.value
            if node.tag == _STR_TAG:
                return value
            if node.tag == _INT_TAG and not node.style and _TEXT_LOOKING_INT.fullmatch(value):
                return value
            return self._constructor.construct_object(node, deep=True)
        raise yaml.constructor.ConstructorError(
            None, None, f"unexpected YAML node {type(node).__name__}", node.start_mark
        )

    def _mapping(self, node: MappingNode) -> LineDict:
        result = LineDict(node.start_mark.line + 1)
        self._built[id(node)] = result
        if any(key.tag == _MERGE_TAG for key, _ in node.value):
            self._constructor.flatten_mapping(node)  # merge keys (<<: *anchor)
        for key_node, value_node in node.value:
            key = self.build(key_node)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    "found a key that is not a plain value",
                    key_node.start_mark,
                ) from None
            line = key_node.start_mark.line + 1
            if key in result:
                result.duplicate_keys.append((key, line))
            result.key_lines[key] = line
            result[key] = self.build(value_node)
        return result


# --- checking ---------------------------------------------------------------------


def _line(value: object, key: object = None) -> int | None:
    if not isinstance(value, LineDict):
        return None
    if key is not None and key in value.key_lines:
        return value.key_lines[key]
    return value.line


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


class _Checker:
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
                    _line(value, key),
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
            self.error(here, f"must be a list, not {_type_name(value)}", _line(mapping, key))
            return []
        line = _line(mapping, key)
        result = []
        for index, item in enumerate(value):
            label = _label(item) if isinstance(item, dict) else ""
            item_line = _line(item) if isinstance(item, dict) else line
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
        here, line = f"{place}.{key}", _line(mapping, key)
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
        here, line = f"{place}.{key}", _line(mapping, key)
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
        here, line = f"{place}.{key}", _line(mapping, key)
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
                _line(mapping, key),
            )
            return False, None
        return True, value

    def birth_year(self, mapping: Mapping[Any, Any], place: str) -> tuple[bool, int | None]:
        value = mapping.get("birth_year")
        if value is None:
            return True, None
        here, line = f"{place}.birth_year", _line(mapping, "birth_year")
        if not isinstance(value, int) or isinstance(value, bool):
            self.error(here, f"must be a whole year like 1938, not {_type_name(value)}", line)
            return False, None
        if not MIN_BIRTH_YEAR <= value <= self.current_year:
            self.error(
                here, f"{value} is not plausible: use {MIN_BIRTH_YEAR}..{self.current_year}", line
            )
            return False, None
        return True, value

    def priority(self, mapping: Mapping[Any, Any], place: str) -> int | None:
        here, line = f"{place}.priority", _line(mapping, "priority")
        value = mapping.get("priority")
        if value is None:
            self.error(here if "priority" in mapping else place, "priority is required", line)
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.error(here, f"must be a whole number from 1 (first called), not {value!r}", line)
            return None
        return value

    def shift(self, value: object, place: str, line: int | None) -> ShiftRow | None:
        mapping = self.mapping(value, place, line, _SHIFT_KEYS)
        if mapping is None:
            return None
        parts: dict[str, str] = {}
        for key in _SHIFT_KEYS:
            raw = mapping.get(key)
            here, key_line = f"{place}.{key}", _line(mapping, key)
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
class _Seen:
    """First place of each id of one kind, to report duplicates."""

    kind: str
    first: dict[str, str] = field(default_factory=dict)

    def add(self, checker: _Checker, ident: str, place: str, line: int | None) -> bool:
        before = self.first.get(ident)
        if before is not None:
            checker.error(place, f"{self.kind} {ident!r} is already given at {before}", line)
            return False
        self.first[ident] = place if line is None else f"{place} (line {line})"
        return True


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
    parser = _CityParser(_Checker(current_year))
    checker = parser.checker
    if document is None:
        checker.error("file", "is empty: expected communities: and/or residents:", None)
        return CityData(), checker.errors
    top = checker.mapping(document, "file", _line(document), _TOP_KEYS)
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


class _CityParser:
    """Collects the rows of one file while its checker collects the errors."""

    def __init__(self, checker: _Checker) -> None:
        self.checker = checker
        self.communities: list[CommunityRow] = []
        self.workers: list[WorkerRow] = []
        self.providers: list[ProviderRow] = []
        self.residents: list[ResidentRow] = []
        self.contacts: list[ContactRow] = []
        self.terminals: list[TerminalRow] = []
        self.workers_for: set[str] = set()
        self.providers_for: set[str] = set()
        self.contacts_for: set[str] = set()
        self.terminal_for: set[str] = set()
        self.community_seen = _Seen("community")
        self.worker_seen = _Seen("worker")
        self.provider_seen = _Seen("provider")
        self.resident_seen = _Seen("resident")
        self.terminal_seen = _Seen("terminal")

    def data(self) -> CityData:
        return CityData(
            communities=tuple(self.communities),
            workers=tuple(self.workers),
            providers=tuple(self.providers),
            residents=tuple(self.residents),
            contacts=tuple(self.contacts),
            terminals=tuple(self.terminals),
            workers_for=frozenset(self.workers_for),
            providers_for=frozenset(self.providers_for),
            contacts_for=frozenset(self.contacts_for),
            terminal_for=frozenset(self.terminal_for),
        )

    def _unique_id(
        self, seen: _Seen, mapping: Mapping[Any, Any], key: str, place: str
    ) -> str | None:
        ident = self.checker.ident(mapping, key, place)
        if ident is not None and not seen.add(
            self.checker, ident, f"{place}.{key}", _line(mapping, key)
        ):
            return None
        return ident

    def community(self, item: object, place: str, line: int | None) -> None:
        checker = self.checker
        mapping = checker.mapping(item, place, line, _COMMUNITY_KEYS)
        if mapping is None:
            return
        cid = self._unique_id(self.community_seen, mapping, "id", place)
        name = checker.text(mapping, "name", place, max_len=NAME_MAX)
        street = checker.text(mapping, "street", place, max_len=NAME_MAX)
        district = checker.text(mapping, "district", place, max_len=NAME_MAX)
        if cid is not None and name is not None and street is not None and district is not None:
            self.communities.append(CommunityRow(cid, name, street, district, line))
        if cid is not None and "workers" in mapping:
            self.workers_for.add(cid)
        if cid is not None and "providers" in mapping:
            self.providers_for.add(cid)
        for _, w_item, w_place, w_line in checker.items(mapping, "workers", place):
            self.worker(w_item, w_place, w_line, cid)
        for _, p_item, p_place, p_line in checker.items(mapping, "providers", place):
            self.provider(p_item, p_place, p_line, cid)

    def worker(self, item: object, place: str, line: int | None, cid: str | None) -> None:
        checker = self.checker
        mapping = checker.mapping(item, place, line, _WORKER_KEYS)
        if mapping is None:
            return
        wid = self._unique_id(self.worker_seen, mapping, "id", place)
        name = checker.text(mapping, "name", place, max_len=NAME_MAX)
        phone = checker.phone(mapping, "phone", place)
        shifts = [
            checker.shift(s_item, s_place, s_line)
            for _, s_item, s_place, s_line in checker.items(mapping, "shifts", place)
        ]
        good_shifts = tuple(s for s in shifts if s is not None)
        if (
            cid is not None
            and wid is not None
            and name is not None
            and phone is not None
            and len(good_shifts) == len(shifts)
        ):
            self.workers.append(WorkerRow(wid, cid, name, phone, good_shifts, line))

    def provider(self, item: object, place: str, line: int | None, cid: str | None) -> None:
        checker = self.checker
        mapping = checker.mapping(item, place, line, _PROVIDER_KEYS)
        if mapping is None:
            return
        pid = self._unique_id(self.provider_seen, mapping, "id", place)
        name = checker.text(mapping, "name", place, max_len=NAME_MAX)
        category = checker.ident(mapping, "category", place)
        phone = checker.phone(mapping, "phone", place)
        if (
            cid is not None
            and pid is not None
            and name is not None
            and category is not None
            and phone is not None
        ):
            self.providers.append(ProviderRow(pid, cid, name, category, phone, line))

    def resident(self, item: object, place: str, line: int | None, known: set[str]) -> None:
        checker = self.checker
        mapping = checker.mapping(item, place, line, _RESIDENT_KEYS)
        if mapping is None:
            return
        rid = self._unique_id(self.resident_seen, mapping, "id", place)
        name = checker.text(mapping, "name", place, max_len=NAME_MAX)
        year_ok, birth_year = checker.birth_year(mapping, place)
        community = self._community_ref(mapping, place, known)
        address = checker.text(mapping, "address", place, max_len=ADDRESS_MAX)
        language_ok, language = checker.choice(mapping, "language", place, LANGUAGES)
        medical = checker.text(mapping, "medical", place, max_len=MEDICAL_MAX, required=False)
        terminal_ok = self._terminal(mapping, place, rid)
        contacts_ok = self._contacts(mapping, place, rid)
        if (
            year_ok
            and language_ok
            and terminal_ok
            and contacts_ok
            and rid is not None
            and name is not None
            and community is not None
            and address is not None
            and medical is not None
        ):
            self.residents.append(
                ResidentRow(
                    rid,
                    community,
                    name,
                    birth_year,
                    address,
                    language or DEFAULT_LANGUAGE,
                    medical,
                    line,
                )
            )

    def _community_ref(self, mapping: Mapping[Any, Any], place: str, known: set[str]) -> str | None:
        community = self.checker.ident(mapping, "community", place)
        if community is None or community in known:
            return community
        close = difflib.get_close_matches(community, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        self.checker.error(
            f"{place}.community",
            f"community {community!r} is neither in this file nor in the database{hint}",
            _line(mapping, "community"),
        )
        return None

    def _terminal(self, mapping: Mapping[Any, Any], place: str, rid: str | None) -> bool:
        if "terminal" not in mapping:
            return True
        if rid is not None:
            self.terminal_for.add(rid)
        device_id = self.checker.ident(mapping, "terminal", place, required=False)
        if device_id is None:
            return mapping["terminal"] is None
        line = _line(mapping, "terminal")
        if not self.terminal_seen.add(self.checker, device_id, f"{place}.terminal", line):
            return False
        if rid is not None:
            self.terminals.append(TerminalRow(device_id, rid, line))
        return True

    def _contacts(self, mapping: Mapping[Any, Any], place: str, rid: str | None) -> bool:
        if rid is not None and "contacts" in mapping:
            self.contacts_for.add(rid)
        ok = True
        priorities: dict[int, str] = {}
        for _, item, c_place, c_line in self.checker.items(mapping, "contacts", place):
            contact = self._contact(item, c_place, c_line, rid, priorities)
            if contact is None:
                ok = False
            elif rid is not None:
                self.contacts.append(contact)
        return ok

    def _contact(
        self,
        item: object,
        place: str,
        line: int | None,
        rid: str | None,
        priorities: dict[int, str],
    ) -> ContactRow | None:
        checker = self.checker
        mapping = checker.mapping(item, place, line, _CONTACT_KEYS)
        if mapping is None:
            return None
        name = checker.text(mapping, "name", place, max_len=NAME_MAX)
        relation = checker.text(mapping, "relation", place, max_len=RELATION_MAX, required=False)
        phone = checker.phone(mapping, "phone", place)
        priority = checker.priority(mapping, place)
        channel_ok, channel = checker.choice(mapping, "channel", place, CONTACT_CHANNELS)
        language_ok, language = checker.choice(mapping, "language", place, LANGUAGES)
        if priority is not None:
            if priority in priorities:
                checker.error(
                    f"{place}.priority",
                    f"priority {priority} is also given to {priorities[priority]}; "
                    "each contact of a resident needs its own",
                    _line(mapping, "priority"),
                )
                priority = None
            else:
                priorities[priority] = place
        if (
            name is None
            or relation is None
            or phone is None
            or priority is None
            or not channel_ok
            or not language_ok
            or rid is None
        ):
            return None
        return ContactRow(rid, priority, name, relation, phone, channel, language, line)
