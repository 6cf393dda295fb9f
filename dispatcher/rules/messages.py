"""What a worker, relative, supervisor or resident reads and hears, worded from the
catalog (`dispatcher.catalog`) in their language. Pure.

The address and name are kept short so that the end of an SMS (how to answer) survives
the cut to `sms_max_segments`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dispatcher import catalog
from dispatcher.catalog import Phrase
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


def _values(facts: AlarmFacts, language: str, **more: object) -> dict[str, object]:
    return {
        "name": facts.resident_name,
        "address": _address(facts, language),
        "what": what(facts.type, language),
        "code": facts.short_code,
        **{k: str(v) for k, v in more.items()},
    }


def sms_phrase(
    facts: AlarmFacts,
    *,
    language: str,
    purpose: str = "step",
    to_provider: bool = False,
    address_max: int = 40,
) -> Phrase:
    """The SMS of an escalation step, a supervisors' alert, or a service request to a
    provider (`to_provider`: one of the community's, by the default category, or the
    one an operator sent): its catalog entry and values, which a provider with
    registered templates (Alibaba Cloud) sends as they are."""
    f = replace(
        facts,
        resident_name=_short(facts.resident_name, 20),
        address=_short(facts.address, address_max),
    )
    if purpose in {"exhausted", "ack_overdue"}:
        return Phrase(f"sms.{purpose}", _values(f, language))
    if to_provider or purpose == "service":
        service = category(f.service, language)
        if f.resident_phone:
            return Phrase(
                "sms.service", _values(f, language, phone=f.resident_phone, service=service)
            )
        return Phrase("sms.service.no_phone", _values(f, language, service=service))
    key = "sms.step.emergency" if f.kind is AlarmKind.EMERGENCY else "sms.step"
    return Phrase(key, _values(f, language))


def sms_text(
    facts: AlarmFacts,
    *,
    language: str,
    purpose: str = "step",
    to_provider: bool = False,
    address_max: int = 40,
) -> str:
    return sms_phrase(
        facts,
        language=language,
        purpose=purpose,
        to_provider=to_provider,
        address_max=address_max,
    ).text(language)


def voice_phrase(facts: AlarmFacts, *, language: str) -> Phrase:
    return Phrase("voice.alarm", _values(facts, language))


def voice_text(facts: AlarmFacts, *, language: str) -> str:
    return voice_phrase(facts, language=language).text(language)


def told_phrase(
    facts: AlarmFacts, body: dict[str, object], *, language: str, to_provider: bool = False
) -> Phrase:
    """A relative hears who took the emergency (`told_taken`: body `who`, `role`) or
    how it ended (`told_closed`: body `outcome`); a provider sent a service request
    hears that it is closed (`to_provider`, body `outcome`)."""
    name = _short(facts.resident_name, 20)
    if "outcome" in body:
        outcome_key = f"outcome.{body['outcome']}"
        outcome = catalog.text(outcome_key, language) if catalog.has(outcome_key) else ""
        if to_provider:
            return Phrase(
                "sms.service_closed", {"code": facts.short_code, "name": name, "outcome": outcome}
            )
        return Phrase("sms.told_closed", {"name": name, "outcome": outcome})
    role_key = f"told.who.{body.get('role', 'operator')}"
    if not catalog.has(role_key):
        role_key = "told.who.operator"
    who = catalog.text(role_key, language, who=_short(str(body.get("who", "")), 20))
    return Phrase("sms.told_taken", {"name": name, "who": who})


def told_text(
    facts: AlarmFacts, body: dict[str, object], *, language: str, to_provider: bool = False
) -> str:
    return told_phrase(facts, body, language=language, to_provider=to_provider).text(language)


def checkin_summary_phrase(body: dict[str, object], *, language: str) -> Phrase:
    """The morning check-in list of a community, to the worker on shift: body
    `community`, `date` (YYYY-MM-DD), counts `ok`, `paused`, `waiting` and the names of
    those who missed it, `missed`."""
    names = body.get("missed")
    missed = [str(n) for n in names] if isinstance(names, list) else []
    values: dict[str, object] = {
        "community": str(body.get("community", "")),
        "date": str(body.get("date", "")),
        "ok": str(body.get("ok", 0)),
        "missed": str(len(missed)),
        "paused": str(body.get("paused", 0)),
        "waiting": str(body.get("waiting", 0)),
    }
    if not missed:
        return Phrase("sms.checkin_summary.all_in", values)
    separator = catalog.text("sms.summary.separator", language)
    return Phrase("sms.checkin_summary", {**values, "names": separator.join(missed)})


def checkin_summary_text(body: dict[str, object], *, language: str) -> str:
    return checkin_summary_phrase(body, language=language).text(language)


def opt_out_phrase(body: dict[str, object], *, language: str) -> Phrase:
    """The supervisors hear that a phone stopped our SMS: body `who`, `phone`, `word`."""
    who = str(body.get("who") or catalog.text("opt_out.unknown", language))
    values: dict[str, object] = {
        "who": who,
        "phone": str(body.get("phone", "")),
        "word": str(body.get("word", "")),
    }
    return Phrase("sms.opt_out", values)


def opt_out_text(body: dict[str, object], *, language: str) -> str:
    return opt_out_phrase(body, language=language).text(language)


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


def responder_url(link_base: str, token: str) -> str:
    """The responder link (docs/api.md): the public address, `/r/`, the token."""
    return f"{link_base.rstrip('/')}/r/{token}"


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


def summary_phrase(
    alarms: list[list[object]], *, language: str, notes: list[str] | None = None
) -> Phrase:
    """One SMS for the messages held back by the throttle: the alarms that ask for an
    answer, [[alarm_id, resident_name], ...], and whom the others were about."""
    separator = catalog.text("sms.summary.separator", language)
    names = separator.join(dict.fromkeys(notes or []))
    if not alarms:
        return Phrase("sms.summary.notes", {"n": str(len(notes or [])), "names": names})
    items = separator.join(
        catalog.text("sms.summary.item", language, name=name, code=aid) for aid, name in alarms
    )
    values: dict[str, object] = {"n": str(len(alarms)), "items": items}
    if notes:
        return Phrase(
            "sms.summary.with_notes", {**values, "notes": str(len(notes)), "names": names}
        )
    return Phrase("sms.summary", values)


def summary_text(
    alarms: list[list[object]], *, language: str, notes: list[str] | None = None
) -> str:
    return summary_phrase(alarms, language=language, notes=notes).text(language)


def terminal_text(command: str, language: str, *, kind: AlarmKind | None = None) -> str:
    """The words on the terminal's screen with a command (help_coming, alarm_closed);
    a service request's own when the catalog has them (help is not "coming" with a meal)."""
    keys = [f"terminal.{command}.{kind}"] if kind is not None else []
    keys.append(f"terminal.{command}")
    found = next((key for key in keys if catalog.has(key)), None)
    return catalog.text(found, language) if found is not None else ""
