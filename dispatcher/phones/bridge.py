"""Operators' calls (docs/api.md): one typed protocol for a provider that rings the
operator's phone and then connects the other party, and the providers we have.

A provider gets the call's id and both numbers; it reports each leg's progress to the
web layer, which turns the reports into `dispatcher.rules.calls.LegReport`s (Twilio's in
`dispatcher.web.twilio_calls`). Alibaba Cloud's click-to-dial (`ClickToDial` of its voice
service: the caller's and the called number, both shown numbers) fits the same protocol:
a `connect` that returns its call id, and its call reports pushed to a hook that makes
`LegReport`s of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from dispatcher.logs import about, mask_phones
from dispatcher.notify.errors import NotificationError
from dispatcher.notify.twilio import TwilioGateway
from dispatcher.notify.twilio_channels import hook_url

__all__ = ["BridgeCall", "CallBridge", "LogBridge", "NotificationError", "TwilioBridge"]


@dataclass(frozen=True, slots=True)
class BridgeCall:
    call_id: int
    alarm_id: int
    operator_phone: str
    party_phone: str
    party_name: str


class CallBridge(Protocol):
    name: str

    async def connect(self, call: BridgeCall) -> str | None:
        """Ring the operator's phone; the provider's id of that call, if it has one.
        `PermanentFailure` or `TemporaryFailure` when the provider would not."""
        ...


class LogBridge:
    """No voice provider configured (demo, development): the call is only logged."""

    name = "log"

    def __init__(self, logger: logging.Logger) -> None:
        self._log = logger

    async def connect(self, call: BridgeCall) -> str | None:
        self._log.info(
            "[call %d] would ring the operator at %s, then %s at %s",
            call.call_id,
            mask_phones(call.operator_phone),
            call.party_name,
            mask_phones(call.party_phone),
            extra=about(call.alarm_id),
        )
        return None


class TwilioBridge:
    """A call to the operator whose TwiML, once answered, <Dial>s the other party
    (`dispatcher.web.twilio_calls`); progress of both legs comes back signed."""

    name = "twilio"

    def __init__(self, gateway: TwilioGateway, public_url: str) -> None:
        self._gateway = gateway
        self._public_url = public_url

    async def connect(self, call: BridgeCall) -> str | None:
        return await self._gateway.place_call(
            call.operator_phone,
            hook_url(self._public_url, f"call/{call.call_id}/bridge"),
            status_callback=hook_url(self._public_url, f"call/{call.call_id}/status"),
            detect_machine=False,
        )
