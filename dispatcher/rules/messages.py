"""What a worker, relative, supervisor or resident reads and hears, worded from the
catalog (`dispatcher.catalog`) in their language. Pure.

The address and name are kept short so that the end of an SMS (how to answer) survives
the cut to `sms_max_segments`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dispatcher import catalog
from dispatcher.rules.policy import AlarmKind


@dataclass(frozen=True, slots=True)
class AlarmFacts:
    alarm_id: int
    kind: AlarmKind
    type: str
    resident_name: str
    address: str
    short_code: str  # lets one phone with several open alarms answer the right one


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def what(type_: str, language: str) -> str:
    """The alarm's type as a message says it; a type without words is named as it is."""
    key = f"what.{type_}"
    return catalog.text(key, language) if catalog.has(key) else type_


def _fill(key: str, facts: AlarmFacts, language: str) -> str:
    return catalog.text(
        key,
        language,
        name=facts.resident_name,
        address=facts.address,
        what=what(facts.type, language),
        code=facts.short_code,
    )


def sms_text(facts: AlarmFacts, *, language: str, purpose: str = "step") -> str:
    f = replace(facts, resident_name=_short(facts.resident_name, 20), address=_short(facts.address))
    if purpose in {"exhausted", "ack_overdue"}:
        return _fill(f"sms.{purpose}", f, language)
    return _fill("sms.step.emergency" if f.kind is AlarmKind.EMERGENCY else "sms.step", f, language)


def voice_text(facts: AlarmFacts, *, language: str) -> str:
    return _fill("voice.alarm", facts, language)


# GSM 03.38 basic set: messages of only these characters go 160 per SMS, else UCS-2
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXT = frozenset("^{}\\[~]|€")  # each costs two septets


def sms_segments(text: str) -> int:
    """How many SMS parts the text takes: GSM-7 160/153, UCS-2 70/67 (Chinese)."""
    if all(c in _GSM7 or c in _GSM7_EXT for c in text):
        units = sum(2 if c in _GSM7_EXT else 1 for c in text)
        single, part = 160, 153
    else:
        # UTF-16 code units: a character outside the BMP (emoji) takes two
        units = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
    if units <= single:
        return 1
    return -(-units // part)


def fit_sms(text: str, max_segments: int = 2) -> str:
    """Cut to `max_segments` parts: a last guard; the texts keep addresses short so that
    the end (how to accept) survives."""
    if sms_segments(text) <= max_segments:
        return text
    cut = text
    while cut and sms_segments(cut + "…") > max_segments:
        cut = cut[:-1]
    return cut + "…"


def summary_text(alarms: list[list[object]], *, language: str) -> str:
    """One SMS for the alarms held back by the throttle: [[alarm_id, resident_name], ...]."""
    items = catalog.text("sms.summary.separator", language).join(
        catalog.text("sms.summary.item", language, name=name, code=aid) for aid, name in alarms
    )
    return catalog.text("sms.summary", language, n=len(alarms), items=items)


def terminal_text(command: str, language: str) -> str:
    """The words on the terminal's screen with a command (help_coming, alarm_closed)."""
    key = f"terminal.{command}"
    return catalog.text(key, language) if catalog.has(key) else ""
