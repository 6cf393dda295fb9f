"""Escalation policies as configured (docs/configuration.md): validated once at start.

Pure data; the escalation rules read it, nothing here does I/O.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

_TARGET = re.compile(
    r"^(operators|supervisors|duty_workers|workers|contacts|contact:[1-9][0-9]*"
    r"|providers:[a-z_]+|default_providers)$"
)


class AlarmKind(StrEnum):
    EMERGENCY = "emergency"
    SERVICE = "service"
    DEVICE = "device"
    CHECKIN = "checkin"


class Channel(StrEnum):
    DASHBOARD = "dashboard"
    SMS = "sms"
    VOICE = "voice"


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    notify: Annotated[tuple[str, ...], Field(min_length=1)]
    channels: Annotated[tuple[Channel, ...], Field(min_length=1)]
    wait_s: Annotated[int, Field(gt=0, le=24 * 3600)]

    @field_validator("notify")
    @classmethod
    def _known_targets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [t for t in value if not _TARGET.match(t)]
        if bad:
            raise ValueError(
                f"unknown target(s) {bad}: use operators, supervisors, duty_workers, workers, "
                "contacts, contact:N, providers:CATEGORY or default_providers"
            )
        return value


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    repeat: Annotated[int, Field(ge=0, le=10)] = 0
    steps: Annotated[tuple[Step, ...], Field(min_length=1)]


def _step(notify: list[str], channels: list[str], wait_s: int) -> Step:
    return Step.model_validate({"notify": notify, "channels": channels, "wait_s": wait_s})


class EscalationPolicies(BaseModel):
    """One policy per alarm kind; a kind the config leaves out keeps its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    emergency: Policy = Field(default_factory=lambda: _DEFAULTS["emergency"])
    service: Policy = Field(default_factory=lambda: _DEFAULTS["service"])
    device: Policy = Field(default_factory=lambda: _DEFAULTS["device"])
    checkin: Policy = Field(default_factory=lambda: _DEFAULTS["checkin"])

    def for_kind(self, kind: AlarmKind | str) -> Policy:
        policy: Policy = getattr(self, AlarmKind(kind).value)
        return policy


def default_policies() -> EscalationPolicies:
    """Defaults for a city that configured nothing: the same as the shipped config.yaml."""
    return EscalationPolicies(**_DEFAULTS)


_DEFAULTS: dict[str, Policy] = {
    "emergency": Policy(
        repeat=1,
        steps=(
            _step(["operators"], ["dashboard"], 60),
            _step(["duty_workers"], ["sms", "voice"], 120),
            _step(["contact:1"], ["voice", "sms"], 120),
            _step(["contacts"], ["sms", "voice"], 300),
        ),
    ),
    # slower than an emergency: the providers of the resident's default category (the
    # meal, the repair) at once, the community's workers only if nobody took it
    "service": Policy(
        repeat=0,
        steps=(
            _step(["operators", "default_providers"], ["dashboard", "sms"], 900),
            _step(["duty_workers"], ["sms"], 1800),
        ),
    ),
    "device": Policy(
        repeat=0,
        steps=(
            _step(["operators"], ["dashboard"], 1800),
            _step(["duty_workers"], ["sms"], 3600),
        ),
    ),
    "checkin": Policy(
        repeat=0,
        steps=(
            _step(["operators"], ["dashboard"], 600),
            _step(["duty_workers"], ["sms", "voice"], 900),
            _step(["contact:1"], ["voice", "sms"], 900),
        ),
    ),
}
