"""What a worker or relative means by an SMS reply. Pure.

`1` takes the alarm, `2` declines; a number after it (`1 23`) names the alarm when the
phone holds several. Full-width digits (１) and Chinese words are understood.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    STOP = "stop"
    START = "start"
    UNKNOWN = "unknown"


# Twilio's own opt-out and opt-in keywords, and the Chinese ones (退订 = unsubscribe)
_STOP = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "TD", "停止"}
_START = {"START", "YES", "UNSTOP", "订阅", "开始"}
_ACCEPT = {"1", "Y", "OK", "好", "能", "去", "能去"}
_DECLINE = {"2", "N", "NO", "不", "不能", "不去"}
_REPLY = re.compile(r"^(\S+?)(?:[\s#,，:：]+(\d{1,12}))?$")


@dataclass(frozen=True, slots=True)
class Reply:
    intent: Intent
    code: int | None = None


def parse_sms(body: str) -> Reply:
    # people copy the example with its quotes, or end with a full stop
    text = unicodedata.normalize("NFKC", body).strip().strip("\"“”'‘’「」").rstrip("。.!！").strip()
    upper = text.upper()
    if upper in _STOP:
        return Reply(Intent.STOP)
    if upper in _START:
        return Reply(Intent.START)
    match = _REPLY.match(upper)
    if match is None:
        return Reply(Intent.UNKNOWN)
    word, code = match.group(1), match.group(2)
    # "123" is not "1 23": a code must be set apart, or it would guess which alarm
    if word in _ACCEPT:
        return Reply(Intent.ACCEPT, int(code) if code else None)
    if word in _DECLINE:
        return Reply(Intent.DECLINE, int(code) if code else None)
    return Reply(Intent.UNKNOWN)
