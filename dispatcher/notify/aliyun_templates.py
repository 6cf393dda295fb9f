"""Every message the service sends, as a template of Alibaba Cloud: made from the catalog,
which stays the one source of the words.

An SMS in China goes out only as a registered, approved template with named variables
(`${name}`), behind the registered sign name, which Alibaba Cloud puts in front (so the
catalog's own sign in brackets is left out). `dispatcher templates --provider aliyun` prints
them for registration; `notifications.aliyun.templates` maps each code name to the code
Alibaba Cloud gave it. A value goes in within the variable limit, cut with an ellipsis
between two characters, and never empty (Alibaba Cloud refuses an empty variable).
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from dispatcher import catalog
from dispatcher.catalog import Phrase

# every catalog entry that goes to a phone whole: the SMS, the answers to replies, and
# what calls say. Entries used inside these (what.*, told.who.*, ...) become values.
MESSAGES: tuple[str, ...] = (
    "sms.step",
    "sms.step.emergency",
    "sms.exhausted",
    "sms.ack_overdue",
    "sms.summary",
    "sms.summary.notes",
    "sms.summary.with_notes",
    "sms.service",
    "sms.service.no_phone",
    "sms.told_taken",
    "sms.told_closed",
    "sms.checkin_summary",
    "sms.checkin_summary.all_in",
    "sms.opt_out",
    "reply.stopped",
    "reply.started",
    "reply.help",
    "reply.which",
    "reply.not_provider",
    "reply.arrived",
    "reply.service_accepted",
    "reply.service_done",
    "reply.unknown_code",
    "reply.nothing_open",
    "reply.taken",
    "reply.declined",
    "reply.already_taken",
    "reply.already_resolved",
    "voice.alarm",
    "voice.arrived",
    "voice.taken",
    "voice.declined",
    "voice.no_key",
)

# Alibaba Cloud's limit for a variable of the common types (names, addresses, codes)
VARIABLE_MAX = 35
EMPTY = "—"  # what an empty value is sent as
_SIGN = re.compile(r"^(【[^】]*】|\[[^\]]*\] )")


@dataclass(frozen=True, slots=True)
class Template:
    code_name: str  # the key in notifications.aliyun.templates
    key: str  # the catalog entry
    language: catalog.Language
    kind: str  # sms, or voice (a text-to-speech template of the voice service)
    text: str  # as registered: ${name} variables, no sign name
    parameters: tuple[str, ...]


def kind(key: str) -> str:
    return "voice" if key.startswith("voice.") else "sms"


def code_name(key: str, language: str) -> str:
    """`sms.step.emergency` -> `sms_step_emergency` (Chinese), `..._en` (English)."""
    base = key.replace(".", "_")
    return base if catalog.language(language) == "zh-CN" else f"{base}_en"


def parameters(words: str) -> tuple[str, ...]:
    """The placeholders of a catalog text, each once, in order."""
    names = (field for _, field, _, _ in string.Formatter().parse(words) if field)
    return tuple(dict.fromkeys(names))


def adjacent(words: str) -> bool:
    """Two placeholders with nothing between them: Alibaba Cloud refuses ${a}${b}."""
    return "}{" in words


def registered_text(words: str) -> str:
    """A catalog text as a template: the sign name left out, `{name}` -> `${name}`."""
    body = _SIGN.sub("", words, count=1)
    return re.sub(r"\{(\w+)\}", r"${\1}", body.replace("{{", "{").replace("}}", "}"))


def template(key: str, language: catalog.Language) -> Template:
    words = catalog.strings(language)[key]
    return Template(
        code_name=code_name(key, language),
        key=key,
        language=language,
        kind=kind(key),
        text=registered_text(words),
        parameters=parameters(words),
    )


def all_templates() -> Iterator[Template]:
    for key in MESSAGES:
        for language in catalog.LANGUAGES:
            yield template(key, language)


def cut(value: str, limit: int = VARIABLE_MAX) -> str:
    """A value within `limit` characters: cut between two characters, with an
    ellipsis; an empty one becomes a dash."""
    value = " ".join(value.split())  # no line breaks inside a variable
    if not value:
        return EMPTY
    if len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


def _said(value: object, language: str) -> str:
    if isinstance(value, Phrase):
        return value.text(language)
    if isinstance(value, tuple) and value and all(isinstance(v, Phrase) for v in value):
        separator = catalog.text("list.separator", language)
        return separator.join(v.text(language) for v in value)
    return str(value)


def params(phrase: Phrase, language: str, limit: int = VARIABLE_MAX) -> dict[str, str]:
    """The template's variables for a phrase: every one present, within the limit."""
    words = catalog.strings(language)[phrase.key]
    return {
        name: cut(_said(phrase.values.get(name, ""), language), limit) for name in parameters(words)
    }


def print_templates(fmt: str, out: TextIO) -> int:
    """`dispatcher templates --provider aliyun`: every template, for registration."""
    found = list(all_templates())
    if fmt == "json":
        rows = [
            {
                "code_name": t.code_name,
                "key": t.key,
                "language": t.language,
                "kind": t.kind,
                "text": t.text,
                "parameters": list(t.parameters),
                "variable_max": VARIABLE_MAX,
            }
            for t in found
        ]
        out.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
        return 0
    for t in found:
        names = ", ".join(t.parameters) or "-"
        out.write(f"{t.code_name}\t{t.kind}\t{t.language}\t{t.text}\t{names}\n")
    return 0
