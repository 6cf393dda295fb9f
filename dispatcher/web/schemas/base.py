"""What every body of the API shares: the two kinds of model (what we answer, what we
are sent), how times are written, and the error bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Final

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from dispatcher.city_file.rows import ID_RE

# the database's ids are signed 64-bit: a larger number names nothing (and cannot be
# bound as a query argument, on either database)
ROW_ID_MAX: Final = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=ROW_ID_MAX)]
# the local dates a query or body may name: a day whose start and the start of the day
# after it are times in every time zone (0001-01-01 in Asia/Shanghai begins before the
# year 1 in UTC; 9999-12-31 has no day after it), so a range is refused with the field
# named (400/422) instead of failing while it is answered
FIRST_DAY: Final = date(1900, 1, 1)
LAST_DAY: Final = date(9999, 12, 30)
Day = Annotated[
    date,
    Field(ge=FIRST_DAY, le=LAST_DAY),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "description": f"from {FIRST_DAY} to {LAST_DAY}",
            "formatMinimum": f"{FIRST_DAY}",
            "formatMaximum": f"{LAST_DAY}",
        }
    ),
]
# the ids of the city file (residents, terminals, communities)
CityId = Annotated[str, Field(pattern=f"^{ID_RE.pattern}$")]


def _no_nul(value: Any) -> Any:
    # PostgreSQL text cannot hold NUL (and no name, note or search has one): refused
    # here with the field named, rather than failing in the database
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain a NUL character (\\u0000)")
    return value


class Answer(BaseModel):
    """A body we send. A field the model does not name is an error (a 500 in the tests
    of every GET), so nothing undescribed leaves the service."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class _FromClient(BaseModel):
    """What a client sends: text with a NUL character is refused."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_text(cls, value: Any) -> Any:
        return _no_nul(value)


class Sent(_FromClient):
    """A body a client sends: an unknown field is refused (422), so that a typo such as
    `nte` for `note` is not dropped in silence; so is text with a NUL character."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class Query(_FromClient):
    """Query parameters: unknown ones are ignored (cache busters, tracking); text with a
    NUL character is refused."""

    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)


class Path(BaseModel):
    """The parameters of a route's path: one that names nothing that could exist (an id
    past 64 bits, a device id with a slash) is answered as not found, before any query."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class AlarmPath(Path):
    alarm_id: RowId
    """The alarm's id."""


class DevicePath(Path):
    device_id: CityId
    """The terminal's device id."""


class ResidentPath(Path):
    resident_id: CityId
    """The resident's id."""


class CommunityPath(Path):
    community_id: CityId
    """The community's id."""


# ISO 8601 with its offset, written by `datetime.isoformat` as the store always has
# (pydantic's own form would turn +00:00 into Z)
Time = Annotated[
    AwareDatetime,
    PlainSerializer(datetime.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class Error(Answer):
    """Every answer that is not a success."""

    error: str


class FieldProblem(Answer):
    field: str
    """Where in the body or query: `outcome`, `contacts[1].phone`; empty for the whole
    body (not JSON, not an object)."""
    message: str


class Invalid(Answer):
    """A body (422) or query (400) the models refuse, with every problem."""

    error: str
    errors: list[FieldProblem]


class CityProblem(Answer):
    place: str
    """Where, as `dispatcher load` names it: `residents[0] (r-0001).contacts[1].phone`."""
    message: str


class CityInvalid(Answer):
    """An edit the city data rules of `dispatcher load` refuse (422), with every problem."""

    error: str
    errors: list[CityProblem]
