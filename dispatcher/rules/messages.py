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
    resident_name: str  # an outage's: its community's name
    address: str
    short_code: str  # lets one phone with several open alarms answer the right one
    resident_phone: str = ""
    service: str = ""  # what a service request asks for: a provider category
    members: int | None = None  # how many terminals an outage holds


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def what(type_: str, language: str) -> str:
    """The alarm's type as a message says it; a type without words is named as it is."""
    key = f"what.{type_}"
    return catalog.text(key, language) if catalog.has(key) else type_


def category(name: str | None, language: str) -> str:
    """A provider category as a message says it; one without words is named as it is."""
    key = f"category.{name or 'any'}"
    return catalog.text(key, language) if catalog.has(key) else (name or "")


def _address(facts: AlarmFacts, language: str) -> str:
    if facts.members is not None:
        return catalog.text("outage.count", language, n=facts.members)
    return facts.address


def _fill(key: str, facts: AlarmFacts, language: str, **more: object) -> str:
    return catalog.text(
        key,
        language,
        name=facts.resident_name,
        address=_address(facts, language),
        what=what(facts.type, language),
        code=facts.short_code,
        **more,
    )


def sms_text(
    facts: AlarmFacts,
    *,
    language: str,
    purpose: str = "step",
    to_provider: bool = False,
    address_max: int = 40,
) -> str:
    """The SMS of an escalation step, a supervisors' alert, or a service request to a
    provider (`to_provider`: one of the community's, by the default category, or the
    one an operator sent)."""
    f = replace(
        facts,
        resident_name=_short(facts.resident_name, 20),
        address=_short(facts.address, address_max),
    )
    if purpose in {"exhausted", "ack_overdue"}:
        return _fill(f"sms.{purpose}", f, language)
    if to_provider or purpose == "service":
        phone = (
            catalog.text("sms.service.phone", language, phone=f.resident_phone)
            if f.resident_phone
            else ""
        )
        return _fill("sms.service", f, language, phone=phone, service=category(f.service, language))
    return _fill("sms.step.emergency" if f.kind is AlarmKind.EMERGENCY else "sms.step", f, language)


def voice_text(facts: AlarmFacts, *, language: str) -> str:
    return _fill("voice.alarm", facts, language)


def told_text(facts: AlarmFacts, body: dict[str, object], *, language: str) -> str:
    """A relative hears who took the emergency (`told_taken`: body `who`, `role`) or
    how it ended (`told_closed`: body `outcome`)."""
    name = _short(facts.resident_name, 20)
    if "outcome" in body:
        outcome_key = f"outcome.{body['outcome']}"
        outcome = catalog.text(outcome_key, language) if catalog.has(outcome_key) else ""
        return catalog.text("sms.told_closed", language, name=name, outcome=outcome)
    role_key = f"told.who.{body.get('role', 'operator')}"
    if not catalog.has(role_key):
        role_key = "told.who.operator"
    who = catalog.text(role_key, language, who=_short(str(body.get("who", "")), 20))
    return catalog.text("sms.told_taken", language, name=name, who=who)


def checkin_summary_text(body: dict[str, object], *, language: str) -> str:
    """The morning check-in list of a community, to the worker on shift: body
    `community`, `date` (YYYY-MM-DD), counts `ok`, `paused`, `waiting` and the names of
    those who missed it, `missed`."""
    names = body.get("missed")
    missed = [str(n) for n in names] if isinstance(names, list) else []
    separator = catalog.text("sms.summary.separator", language)
    names = (
        catalog.text("sms.checkin_summary.names", language, names=separator.join(missed))
        if missed
        else ""
    )
    return catalog.text(
        "sms.checkin_summary",
        language,
        community=body.get("community", ""),
        date=body.get("date", ""),
        ok=body.get("ok", 0),
        missed=len(missed),
        names=names,
        paused=body.get("paused", 0),
        waiting=body.get("waiting", 0),
    )


def opt_out_text(body: dict[str, object], *, language: str) -> str:
    """The supervisors hear that a phone stopped our SMS: body `who`, `phone`, `word`."""
    who = str(body.get("who") or catalog.text("opt_out.unknown", language))
    return catalog.text(
        "sms.opt_out", language, who=who, phone=body.get("phone", ""), word=body.get("word", "")
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


# how far an SMS with a responder link shortens the address before it cuts its end (the
# reply codes): the page the link opens shows the whole address
LINK_ADDRESS_STEPS = (40, 28, 18, 10)


def with_link(text: str, url: str, max_segments: int = 2) -> str:
    """The SMS with the responder link at its end, whole: the words are cut (never the
    link) so that both fit `max_segments`. Too small a budget for the link keeps the
    words alone (the reply codes still work)."""
    if sms_segments(url) > max_segments:
        return fit_sms(text, max_segments)
    if sms_segments(f"{text} {url}") <= max_segments:
        return f"{text} {url}"
    cut = text
    while cut and sms_segments(f"{cut}… {url}") > max_segments:
        cut = cut[:-1]
    return f"{cut}… {url}" if cut else url


def summary_text(
    alarms: list[list[object]], *, language: str, notes: list[str] | None = None
) -> str:
    """One SMS for the messages held back by the throttle: the alarms that ask for an
    answer, [[alarm_id, resident_name], ...], and whom the others were about."""
    separator = catalog.text("sms.summary.separator", language)
    names = separator.join(dict.fromkeys(notes or []))
    if not alarms:
        return catalog.text("sms.summary.notes", language, n=len(notes or []), names=names)
    items = separator.join(
        catalog.text("sms.summary.item", language, name=name, code=aid) for aid, name in alarms
    )
    text = catalog.text("sms.summary", language, n=len(alarms), items=items)
    if notes:
        text += catalog.text("sms.summary.also_notes", language, n=len(notes), names=names)
    return text


def terminal_text(command: str, language: str, *, kind: AlarmKind | None = None) -> str:
    """The words on the terminal's screen with a command (help_coming, alarm_closed);
    a service request's own when the catalog has them (help is not "coming" with a meal)."""
    keys = [f"terminal.{command}.{kind}"] if kind is not None else []
    keys.append(f"terminal.{command}")
    found = next((key for key in keys if catalog.has(key)), None)
    return catalog.text(found, language) if found is not None else ""
