"""The `sms` and `voice` channels on Twilio. Callbacks name the notification in their
URL, so a status that arrives before we stored the SID still finds its row."""

from __future__ import annotations

from dispatcher.notify.channels import Outgoing
from dispatcher.notify.errors import PermanentFailure
from dispatcher.notify.twilio import TwilioGateway


def hook_url(public_url: str, path: str) -> str:
    return f"{public_url.rstrip('/')}/twilio/{path}"


def _phone(message: Outgoing) -> str:
    if not message.phone:
        raise PermanentFailure(None, f"{message.recipient_name} has no phone number")
    return message.phone


class SmsChannel:
    def __init__(self, gateway: TwilioGateway, public_url: str) -> None:
        self._gateway = gateway
        self._public_url = public_url

    async def send(self, message: Outgoing) -> str | None:
        return await self._gateway.send_sms(
            _phone(message),
            message.text,
            status_callback=hook_url(self._public_url, f"status/{message.notification_id}"),
        )


class VoiceChannel:
    def __init__(self, gateway: TwilioGateway, public_url: str) -> None:
        self._gateway = gateway
        self._public_url = public_url

    async def send(self, message: Outgoing) -> str | None:
        return await self._gateway.place_call(
            _phone(message),
            hook_url(self._public_url, f"voice/{message.notification_id}"),
            status_callback=hook_url(self._public_url, f"status/{message.notification_id}"),
        )
