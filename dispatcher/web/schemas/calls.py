"""An operator's call from the alarm view (docs/api.md): whom to call, and the call."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from dispatcher.rules.calls import CallStatus
from dispatcher.web.schemas.base import Answer, Sent, Time

_ID = "[A-Za-z0-9_-]{1,64}"
Target = Annotated[
    str,
    StringConstraints(pattern=f"^(resident|contact:[1-9][0-9]{{0,2}}|(worker|provider):{_ID})$"),
]


class CallRequest(Sent):
    to: Target
    """Whom to connect: `resident`, `contact:N` (the contact of priority N), `worker:ID`
    or `provider:ID` (of the alarm's community)."""


class CallPlaced(Answer):
    """The call asked of the provider: the operator's phone rings first."""

    id: int
    alarm_id: int
    to: str
    name: str
    """Whom it connects."""
    phone: str
    operator_phone: str
    """The operator's own phone, rung first."""
    provider: str
    """`twilio`, or `log` (no voice provider: only logged)."""
    status: CallStatus
    created_at: Time
