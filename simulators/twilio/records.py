"""What the stand-in saw and did, kept so that tests can assert on the wire traffic."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulators.twilio.spec import Problem

Form = tuple[tuple[str, str], ...]


def form_get(form: Form, name: str) -> str | None:
    """The first value of `name` in a form, None when absent."""
    return next((value for key, value in form if key == name), None)


def form_getall(form: Form, name: str) -> list[str]:
    """Every value of a repeated form field, in order."""
    return [value for key, value in form if key == name]


@dataclass(frozen=True)
class ApiRequest:
    """One request to the REST API, and what the stand-in answered."""

    method: str
    path: str
    form: Form
    status: int
    response: dict[str, Any]
    problems: tuple[Problem, ...] = ()
    authorized: bool = True

    def get(self, name: str) -> str | None:
        return form_get(self.form, name)

    def getall(self, name: str) -> list[str]:
        return form_getall(self.form, name)


@dataclass(frozen=True)
class Callback:
    """One signed request the stand-in made to the service, and how it went.

    `kind` is message-status, call-status, voice (TwiML fetch), gather (the pressed
    digits), redirect, dial-status (a <Dial>ed party's progress), dial-action (how the
    <Dial> ended) or inbound-sms. `status` is None when no HTTP answer came back.
    """

    kind: str
    method: str
    url: str
    params: Form
    signature: str
    status: int | None
    body: str = ""
    error: str | None = None

    def get(self, name: str) -> str | None:
        return form_get(self.params, name)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Fault:
    """An injected failure of the next API request: an error status, or a stall."""

    status: int | None = None
    delay_s: float = 0.0


@dataclass
class CallProblem:
    """Something in the service's TwiML that real Twilio would fail on."""

    call_sid: str
    message: str


@dataclass
class Log:
    """Everything recorded, in arrival order."""

    requests: list[ApiRequest] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)
    call_problems: list[CallProblem] = field(default_factory=list)
