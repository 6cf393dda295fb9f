"""Notification channels: one typed protocol, a registry, and one rule: an exception
means "retry later", `PermanentFailure` means "this will never work, move on"."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from devices import protocol_v1
from devices.events import CommandType
from dispatcher.catalog import Phrase
from dispatcher.logs import about, mask_phones
from dispatcher.notify.errors import PermanentFailure


@dataclass(frozen=True, slots=True)
class Outgoing:
    notification_id: int
    alarm_id: int | None  # None for a message about no single alarm
    purpose: str
    channel: str
    recipient_key: str
    recipient_name: str
    phone: str | None
    language: str
    text: str
    body: dict[str, Any] | None
    # the catalog entry and values `text` was made of: for providers of templates
    phrase: Phrase | None = None
    # set once the message failed over: "aliyun>twilio" (rules.routes)
    failover: str | None = None
    # the responder link's token when the SMS carries one (`text` ends with the link):
    # a provider of templates puts it in the template's own place (`aliyun_templates`)
    link: str | None = None


class Channel(Protocol):
    async def send(self, message: Outgoing) -> str | None:
        """Deliver or hand over the message; returns the provider's id, if any."""
        ...


class DashboardChannel:
    """The operators' queue is the open alarms themselves: nothing to send."""

    async def send(self, message: Outgoing) -> str | None:
        return None


class LogChannel:
    """SMS and voice when no provider is configured (demo, development)."""

    def __init__(self, name: str, logger: logging.Logger) -> None:
        self._name = name
        self._log = logger

    async def send(self, message: Outgoing) -> str | None:
        # masked here too, whatever handler the log ends in: texts name residents' phones
        self._log.info(
            "[%s to %s %s] %s",
            self._name,
            message.recipient_name,
            mask_phones(message.phone or ""),
            mask_phones(message.text),
            extra=about(message.alarm_id),
        )
        return None


class TerminalChannel:
    """Commands to the terminal (help_coming, alarm_closed) over MQTT."""

    def __init__(self, publish: Callable[[str, bytes], Awaitable[None]], prefix: str) -> None:
        self._publish = publish
        self._prefix = prefix

    async def send(self, message: Outgoing) -> str | None:
        body = message.body or {}
        device_id = str(body["device_id"])
        payload = protocol_v1.encode_command(
            CommandType(body["type"]), str(message.alarm_id), message.text or None
        )
        await self._publish(protocol_v1.command_topic(self._prefix, device_id), payload)
        return None


class _Unconfigured:
    async def send(self, message: Outgoing) -> str | None:
        raise PermanentFailure(0, f"no channel {message.channel!r} is configured")


UNCONFIGURED: Channel = _Unconfigured()

Registry = dict[str, Channel]
