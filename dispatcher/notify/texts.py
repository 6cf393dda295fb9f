"""What a worker or relative reads and hears, in their language. Pure.

Short and clear: who, where, what, how to accept. No links (SMS spam filters and
elderly-phone users both distrust them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dispatcher.rules.policy import AlarmKind

_WHAT_ZH = {
    "sos": "按下紧急呼叫",
    "fall": "跌倒报警",
    "service": "请求生活服务",
    "tamper": "设备被拆动",
    "power_lost": "设备断电",
    "low_battery": "设备电量低",
    "missed_checkin": "未按时报平安",
    "offline": "终端离线，无法呼救",
}
_WHAT_EN = {
    "sos": "pressed the emergency button",
    "fall": "fall detected",
    "service": "asks for a life service",
    "tamper": "terminal tampered with",
    "power_lost": "terminal lost power",
    "low_battery": "terminal battery low",
    "missed_checkin": "missed the daily check-in",
    "offline": "terminal offline, cannot call for help",
}


@dataclass(frozen=True, slots=True)
class AlarmFacts:
    alarm_id: int
    kind: AlarmKind
    type: str
    resident_name: str
    address: str
    short_code: str  # lets one phone with several open alarms answer the right one


def _shortened(f: AlarmFacts) -> AlarmFacts:
    return replace(f, resident_name=_short(f.resident_name, 20), address=_short(f.address))


def sms_text(facts: AlarmFacts, *, language: str, purpose: str = "step") -> str:
    if language.startswith("en"):
        return _sms_en(facts, purpose)
    return _sms_zh(facts, purpose)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sms_zh(f: AlarmFacts, purpose: str) -> str:
    f = _shortened(f)
    what = _WHAT_ZH.get(f.type, f.type)
    if purpose == "exhausted":
        return f"【一键通】无人接警：{f.resident_name}（{f.address}）{what}，请主管立即处理。"
    if purpose == "ack_overdue":
        return f"【一键通】超时未结案：{f.resident_name}（{f.address}）{what}，请主管跟进。"
    urgent = "紧急" if f.kind is AlarmKind.EMERGENCY else ""
    return (
        f"【一键通】{urgent}{f.resident_name}（{f.address}）{what}。"
        f"能去请回复“1 {f.short_code}”，不能去回复“2 {f.short_code}”。"
    )


def _sms_en(f: AlarmFacts, purpose: str) -> str:
    f = _shortened(f)
    what = _WHAT_EN.get(f.type, f.type)
    if purpose == "exhausted":
        return f"[One-touch] NOBODY RESPONDED: {f.resident_name} ({f.address}) {what}."
    if purpose == "ack_overdue":
        return f"[One-touch] Taken but not closed: {f.resident_name} ({f.address}) {what}."
    urgent = "URGENT: " if f.kind is AlarmKind.EMERGENCY else ""
    return (
        f"[One-touch] {urgent}{f.resident_name} ({f.address}) {what}. "
        f"Reply 1 {f.short_code} if you can go, 2 {f.short_code} if not."
    )


def voice_text(facts: AlarmFacts, *, language: str) -> str:
    if language.startswith("en"):
        what = _WHAT_EN.get(facts.type, facts.type)
        return (
            f"This is the one-touch emergency service. {facts.resident_name}, "
            f"{facts.address}, {what}. Press 1 if you will go. Press 2 if you cannot. "
            "Press 9 to hear this again."
        )
    what = _WHAT_ZH.get(facts.type, facts.type)
    return (
        f"这里是一键通紧急援助中心。{facts.resident_name}，住址{facts.address}，{what}。"
        "您能前往请按1，不能前往请按2，重听请按9。"
    )


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
    if language.startswith("en"):
        items = ", ".join(f"{name} (reply 1 {aid})" for aid, name in alarms)
        return f"[One-touch] {len(alarms)} more alarm(s) for you: {items}. Please call the centre."
    items = "、".join(f"{name}（回复“1 {aid}”）" for aid, name in alarms)
    return f"【一键通】您另有{len(alarms)}起报警未逐条发送：{items}。请尽快联系中心。"
