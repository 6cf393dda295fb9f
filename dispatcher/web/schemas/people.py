"""Residents, their contacts, communities and their workers: what the API shows, and
the bodies of the administrators' edits.

The edits (`ResidentEdit`, `WorkersEdit`) describe a row of the city file; they are
checked by the city data rules of `dispatcher load`, not by these models, so that the
dashboard can never store what the file would refuse and each problem is named by its
place as in the file."""

from __future__ import annotations

from pydantic import Field

from dispatcher.city_file.rows import (
    ADDRESS_MAX,
    CONTACT_CHANNELS,
    E164_RE,
    ID_RE,
    LANGUAGES,
    MEDICAL_MAX,
    MIN_BIRTH_YEAR,
    NAME_MAX,
    RELATION_MAX,
)
from dispatcher.rules.alarms import Outcome, Status
from dispatcher.rules.policy import AlarmKind
from dispatcher.web.schemas.base import Answer, Query, Sent, Time
from dispatcher.web.schemas.checkins import Checkin, CheckinEdit
from dispatcher.web.schemas.terminals import Terminal


class CommunityName(Answer):
    id: str
    name: str
    street: str
    district: str


class Resident(Answer):
    id: str
    name: str
    birth_year: int | None
    age: int | None
    """This year (in the city's time zone) less the birth year."""
    address: str
    language: str
    medical: str
    """Empty when withheld."""
    medical_withheld: bool
    """True for an operator when the resident has no unresolved alarm: the medical notes
    are read during an alarm, or by supervisors and administrators (README, "Audit")."""
    community: CommunityName
    phone: str | None
    """The resident's own phone, if known."""
    service_default: str | None
    """The provider category a service request goes to at once."""
    checkin: Checkin


class Shift(Answer):
    days: str
    """`mon-sun`, `mon-fri`, `sat,sun`, `daily`, ..."""
    start: str
    """`HH:MM` in the city's time zone."""
    end: str
    """`HH:MM`; before `start` when the shift runs past midnight."""


class Worker(Answer):
    id: str
    community_id: str
    name: str
    phone: str
    shifts: list[Shift]
    on_shift: bool
    """On a shift now."""


class Contact(Answer):
    priority: int
    """1 is called first."""
    name: str
    relation: str
    phone: str
    channel: str | None
    """Preferred: `voice` or `sms`."""


class CardContact(Contact):
    language: str | None


class AlarmBrief(Answer):
    id: int
    kind: AlarmKind
    type: str
    status: Status
    created_at: Time
    outcome: Outcome | None


class ResidentCard(Resident):
    """Everything about one resident."""

    terminal: Terminal | None
    contacts: list[CardContact]
    workers: list[Worker]
    """The community's workers."""
    alarms: list[AlarmBrief]
    """The last 10, newest first."""


class ResidentFound(Answer):
    id: str
    name: str
    birth_year: int | None
    address: str
    community: str
    """The community's name."""
    terminal: str | None
    """The terminal's device id."""


class Community(CommunityName):
    workers: list[Worker]


class ResidentsQuery(Query):
    q: str = ""
    """Part of a name, address, resident id, terminal id or contact's phone (the first 100
    characters count); empty for the first residents."""


class ContactEdit(Sent):
    name: str = Field(max_length=NAME_MAX)
    relation: str = Field("", max_length=RELATION_MAX)
    phone: str = Field(pattern=f"^{E164_RE.pattern}$")
    """E.164."""
    priority: int = Field(ge=1)
    """1 is called first; one contact per priority."""
    channel: str | None = Field(None, json_schema_extra={"enum": [*CONTACT_CHANNELS, None]})
    language: str | None = Field(None, json_schema_extra={"enum": [*LANGUAGES, None]})


class ResidentEdit(Sent):
    """A `residents:` row of the city file, without its id (the path's). A given
    `contacts` list or `terminal` replaces the stored one; `terminal: null` detaches it."""

    name: str = Field(max_length=NAME_MAX)
    birth_year: int | None = Field(None, ge=MIN_BIRTH_YEAR)
    community: str = Field(pattern=f"^{ID_RE.pattern}$")
    """The id of a community in the database."""
    address: str = Field(max_length=ADDRESS_MAX)
    language: str | None = Field(None, json_schema_extra={"enum": [*LANGUAGES, None]})
    medical: str | None = Field(None, max_length=MEDICAL_MAX)
    terminal: str | None = Field(None, pattern=f"^{ID_RE.pattern}$")
    """A terminal's device id: it moves to this resident from whoever had it."""
    contacts: list[ContactEdit] | None = None
    phone: str | None = Field(None, pattern=f"^{E164_RE.pattern}$")
    """E.164; left out, it stays as it is."""
    service_default: str | None = Field(None, pattern=f"^{ID_RE.pattern}$")
    """A provider category; left out, it stays as it is."""
    checkin: CheckinEdit | None = None
    """The daily check-in; left out, it stays as it is; `null` removes it."""
    lat: float | None = Field(None, ge=-90, le=90)
    """The home's latitude (WGS84 degrees), with `lon`: the map and the responder's map
    link; left out, they stay as they are; both `null` removes them."""
    lon: float | None = Field(None, ge=-180, le=180)


class ShiftEdit(Sent):
    days: str
    start: str
    end: str


class WorkerEdit(Sent):
    id: str = Field(pattern=f"^{ID_RE.pattern}$")
    name: str = Field(max_length=NAME_MAX)
    phone: str = Field(pattern=f"^{E164_RE.pattern}$")
    shifts: list[ShiftEdit] | None = None


class WorkersEdit(Sent):
    """The community's workers, as its `workers:` list in the city file: it replaces
    them all."""

    workers: list[WorkerEdit]
