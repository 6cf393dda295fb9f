"""What every body of the API shares: the two kinds of model (what we answer, what we
are sent), how times are written, and the error bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, PlainSerializer, WithJsonSchema


class Answer(BaseModel):
    """A body we send. A field the model does not name is an error (a 500 in the tests
    of every GET), so nothing undescribed leaves the service."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class Sent(BaseModel):
    """A body a client sends: an unknown field is refused (422), so that a typo such as
    `nte` for `note` is not dropped in silence."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class Query(BaseModel):
    """Query parameters: unknown ones are ignored (cache busters, tracking)."""

    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)


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
