"""Checking a city file: a document (`city.read`) in, typed rows (`city.rows`) and every
error out, each named by its place in the file (`residents[12] (r-0013).contacts[1].phone`)
and, when the document came from `read_yaml`, its line.

Pure: no file, no database, no clock (the current year and the communities already in
the database are arguments). One method per kind of entry (community, worker, provider,
resident, contact, terminal); the checks of single fields are `city.fields`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from typing import Any, Final

from dispatcher.city_file.fields import Checker, Seen
from dispatcher.city_file.read import line_of
from dispatcher.city_file.rows import (
    ADDRESS_MAX,
    CONTACT_CHANNELS,
    DEFAULT_LANGUAGE,
    LANGUAGES,
    MEDICAL_MAX,
    NAME_MAX,
    RELATION_MAX,
    CityData,
    CityError,
    CommunityRow,
    ContactRow,
    ProviderRow,
    ResidentRow,
    TerminalRow,
    WorkerRow,
)

_TOP_KEYS: Final = ("communities", "residents")
_COMMUNITY_KEYS: Final = ("id", "name", "street", "district", "workers", "providers")
_WORKER_KEYS: Final = ("id", "name", "phone", "shifts")
_PROVIDER_KEYS: Final = ("id", "name", "category", "phone")
_RESIDENT_KEYS: Final = (
    "id",
    "name",
    "birth_year",
    "community",
    "address",
    "language",
    "medical",
    "phone",
    "service_default",
    "checkin",
    "lat",
    "lon",
    "terminal",
    "contacts",
)
# what a resident's row replaces only when it gives it (see `ResidentRow.given`)
_KEPT_UNLESS_GIVEN: Final = ("phone", "service_default", "checkin", "lat")
_CONTACT_KEYS: Final = ("name", "relation", "phone", "priority", "channel", "language")

DC09_ACCOUNT_RE: Final = re.compile(r"[0-9A-Fa-f]{3,16}")
DC09_KEY_RE: Final = re.compile(r"[0-9A-Fa-f]{32}|[0-9A-Fa-f]{48}|[0-9A-Fa-f]{64}")


def check_city(
    document: object,
    *,
    current_year: int,
    existing_communities: Collection[str] = frozenset(),
) -> tuple[CityData, list[CityError]]:
    """Check a read city file and type its rows.

    `existing_communities` are the community ids already in the database, which
    residents may name without the file listing them. Returns the rows that are right
    and every error, in file order; load nothing unless the errors are empty.
    """
    rows = RowChecker(Checker(current_year))
    checker = rows.checker
    if document is None:
        checker.error("file", "is empty: expected communities: and/or residents:", None)
        return CityData(), checker.errors
    top = checker.mapping(document, "file", line_of(document), _TOP_KEYS)
    if top is None:
        return CityData(), checker.errors
    for _, item, place, line in checker.items(top, "communities", ""):
        rows.community(item, place, line)
    known = set(rows.community_seen.first) | set(existing_communities)
    for _, item, place, line in checker.items(top, "residents", ""):
        rows.resident(item, place, line, known)
    # file order: a stable sort keeps each line's errors in the order they were found
    errors = sorted(checker.errors, key=lambda e: (e.line is None, e.line or 0))
    return rows.data(), errors


class RowChecker:
    """Collects the rows of one file that are right while its checker collects the
    errors."""

    def __init__(self, checker: Checker) -> None:
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
        self.community_seen = Seen("community")
        self.worker_seen = Seen("worker")
        self.provider_seen = Seen("provider")
        self.resident_seen = Seen("resident")
        self.terminal_seen = Seen("terminal")
        self.account_seen = Seen("DC-09 account")

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
        self, seen: Seen, mapping: Mapping[Any, Any], key: str, place: str
    ) -> str | None:
        ident = self.checker.ident(mapping, key, place)
        if ident is not None and not seen.add(
            self.checker, ident, f"{place}.{key}", line_of(mapping, key)
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
        phone_ok, phone = checker.optional_phone(mapping, "phone", place)
        service_ok, service_default = self._category(mapping, place)
        checkin_ok, checkin = checker.checkin(mapping, place)
        location_ok, location = checker.location(mapping, place)
        terminal_ok = self._terminal(mapping, place, rid)
        contacts_ok = self._contacts(mapping, place, rid)
        if (
            year_ok
            and language_ok
            and phone_ok
            and service_ok
            and checkin_ok
            and location_ok
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
                    phone=phone,
                    service_default=service_default,
                    checkin=checkin,
                    location=location,
                    given=frozenset(k for k in _KEPT_UNLESS_GIVEN if k in mapping),
                )
            )

    def _category(self, mapping: Mapping[Any, Any], place: str) -> tuple[bool, str | None]:
        """A resident's `service_default`: a provider category, as providers write it."""
        if mapping.get("service_default") is None:
            return True, None
        category = self.checker.ident(mapping, "service_default", place)
        return category is not None, category

    def _community_ref(self, mapping: Mapping[Any, Any], place: str, known: set[str]) -> str | None:
        community = self.checker.ident(mapping, "community", place)
        if community is None or community in known:
            return community
        close = difflib.get_close_matches(community, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        self.checker.error(
            f"{place}.community",
            f"community {community!r} is neither in this file nor in the database{hint}",
            line_of(mapping, "community"),
        )
        return None

    def _terminal(self, mapping: Mapping[Any, Any], place: str, rid: str | None) -> bool:
        if "terminal" not in mapping:
            return True
        if rid is not None:
            self.terminal_for.add(rid)
        given = mapping["terminal"]
        if isinstance(given, Mapping):
            return self._dc09_terminal(given, f"{place}.terminal", rid)
        device_id = self.checker.ident(mapping, "terminal", place, required=False)
        if device_id is None:
            return mapping["terminal"] is None
        line = line_of(mapping, "terminal")
        if not self.terminal_seen.add(self.checker, device_id, f"{place}.terminal", line):
            return False
        if rid is not None:
            self.terminals.append(TerminalRow(device_id, rid, line))
        return True

    def _dc09_terminal(self, given: Mapping[Any, Any], place: str, rid: str | None) -> bool:
        """`{id, protocol: dc09, account, key}` (docs/protocol.md); `{id}` alone, or with
        `protocol: mqtt`, is the short form's MQTT terminal."""
        device_id = self.checker.ident(given, "id", place)
        protocol = given.get("protocol", "mqtt")
        line = line_of(given, "id")
        ok = device_id is not None
        if protocol not in {"mqtt", "dc09"}:
            self.checker.error(f"{place}.protocol", "must be mqtt or dc09", line)
            return False
        account = key = None
        if protocol == "dc09":
            account, key = given.get("account"), given.get("key")
            if not isinstance(account, str) or not DC09_ACCOUNT_RE.fullmatch(account):
                self.checker.error(
                    f"{place}.account", "3 to 16 hex characters, quoted, are required", line
                )
                ok = False
            elif not self.account_seen.add(self.checker, account.upper(), f"{place}.account", line):
                ok = False
            if key is not None and (not isinstance(key, str) or not DC09_KEY_RE.fullmatch(key)):
                self.checker.error(
                    f"{place}.key", "an AES key of 32, 48 or 64 hex characters, quoted", line
                )
                ok = False
        elif set(given) - {"id", "protocol"}:
            self.checker.error(place, "account and key are for protocol: dc09", line)
            ok = False
        if device_id is None or not self.terminal_seen.add(self.checker, device_id, place, line):
            return False
        if ok and rid is not None:
            self.terminals.append(
                TerminalRow(
                    device_id,
                    rid,
                    line,
                    protocol=protocol,
                    account=account.upper() if isinstance(account, str) else None,
                    key=key.upper() if isinstance(key, str) else None,
                )
            )
        return ok

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
                    line_of(mapping, "priority"),
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
