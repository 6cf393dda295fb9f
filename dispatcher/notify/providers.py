"""The phone channels (`sms`, `voice`) from `notifications`: the providers in use (log,
Twilio, Alibaba Cloud), each number's by `notifications.routes`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from dispatcher.config import NotificationsConfig
from dispatcher.notify.aliyun import AliyunGateway
from dispatcher.notify.aliyun_channels import AliyunSmsChannel, AliyunVoiceChannel
from dispatcher.notify.channels import Channel, LogChannel
from dispatcher.notify.routed import RoutedChannel
from dispatcher.notify.twilio import TwilioGateway
from dispatcher.notify.twilio_channels import SmsChannel, VoiceChannel
from dispatcher.rules.routes import Route


@dataclass
class PhoneChannels:
    sms: Channel
    voice: Channel
    twilio: TwilioGateway | None = None
    aliyun_sms: AliyunSmsChannel | None = None  # answers to replies go by it
    routes: tuple[Route, ...] = field(default_factory=tuple)


def routes_of(notifications: NotificationsConfig) -> tuple[Route, ...]:
    return notifications.route_table()


def aliyun_gateway(notifications: NotificationsConfig) -> AliyunGateway:
    a = notifications.aliyun
    return AliyunGateway(
        endpoint=a.endpoint,
        voice_endpoint=a.voice_endpoint,
        access_key_id=a.access_key_id,
        access_key_secret=a.access_key_secret,
        sign_name=a.sign_name,
        called_show_number=a.called_show_number,
        timeout_s=a.timeout_s,
    )


def phone_channels(notifications: NotificationsConfig, logger: logging.Logger) -> PhoneChannels:
    used = notifications.providers()
    sms: dict[str, Channel] = {"log": LogChannel("sms", logger)}
    voice: dict[str, Channel] = {"log": LogChannel("voice", logger)}
    found = PhoneChannels(sms["log"], voice["log"], routes=routes_of(notifications))
    if "twilio" in used:
        tw = notifications.twilio
        found.twilio = TwilioGateway(
            tw.api_base,
            tw.account_sid,
            tw.auth_token,
            tw.from_number,
            tw.timeout_s,
            machine_detection="Enable" if tw.machine_detection else None,
        )
        sms["twilio"] = SmsChannel(found.twilio, notifications.public_url)
        voice["twilio"] = VoiceChannel(found.twilio, notifications.public_url)
    if "aliyun" in used:
        a = notifications.aliyun
        gateway = aliyun_gateway(notifications)
        found.aliyun_sms = AliyunSmsChannel(gateway, a.templates, a.variable_max)
        sms["aliyun"] = found.aliyun_sms
        voice["aliyun"] = AliyunVoiceChannel(gateway, a.templates, a.variable_max)
    found.sms = RoutedChannel(sms, found.routes, notifications.provider)
    found.voice = RoutedChannel(voice, found.routes, notifications.provider)
    return found
