"""Every message the service sends, as a template of Alibaba Cloud: made from the catalog,
which stays the one source of the words.

An SMS in China goes out only as a registered, approved template with named variables
(`${name}`), behind the registered sign name, which Alibaba Cloud puts in front (so the
catalog's own sign in brackets is left out). `dispatcher templates --provider aliyun` prints
them for registration; `notifications.aliyun.templates` maps each code name to the code
Alibaba Cloud gave it. A value goes in within the variable limit, cut with an ellipsis
between two characters, and never empty (Alibaba Cloud refuses an empty variable).

The SMS that ask someone to act (`LINKED`) have a second template each, `..._link`, that
ends with the responder link (docs/api.md), as the words of Twilio's SMS do. Alibaba
Cloud takes no address in a variable (`isv.PARAM_NOT_SUPPORT_URL`; China's carriers
review a link's address against the sign's ICP filing), and the address with its token
is longer than a variable may be (35): so the address is fixed text of the template,
printed from `notifications.public_url`, and only the token is a variable, `${link}`:
22 characters, never cut (a cut link is worse than none: such an SMS goes by the
template without the link). Without a public address there is no link, and no template
with one: the SMS go by the templates without it (the variable is never empty).
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
from dispatcher.rules.messages import responder_url

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
    "sms.service_closed",
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

# the SMS that ask someone to act (rules.notifications.asks_to_act): each has a variant
# with the responder link at its end
LINKED: tuple[str, ...] = ("sms.step", "sms.step.emergency", "sms.service", "sms.service.no_phone")
LINK = "link"  # the variable of the link's token; its address is the template's own text

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


def code_name(key: str, language: str, *, link: bool = False) -> str:
    """`sms.step.emergency` -> `sms_step_emergency` (Chinese), `..._en` (English); the
    variant with the responder link `sms_step_emergency_link`, `..._link_en`."""
    base = key.replace(".", "_") + ("_link" if link else "")
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


def template(key: str, language: catalog.Language, link_base: str = "") -> Template:
    """The catalog entry as a template; with `link_base` (a key of `LINKED`), its variant
    that ends with the responder link: the address written out, the token `${link}`."""
    words = catalog.strings(language)[key]
    if not link_base:
        return Template(
            code_name=code_name(key, language),
            key=key,
            language=language,
            kind=kind(key),
            text=registered_text(words),
            parameters=parameters(words),
        )
    if key not in LINKED:
        raise ValueError(f"{key} asks nobody to act: it carries no link")
    if "$" in link_base or "{" in link_base:
        raise ValueError(f"{link_base!r} is no address for a template")
    url = responder_url(link_base, "${" + LINK + "}")
    return Template(
        code_name=code_name(key, language, link=True),
        key=key,
        language=language,
        kind=kind(key),
        text=f"{registered_text(words)} {url}",  # as with_link ends Twilio's SMS
        parameters=(*parameters(words), LINK),
    )


def all_templates(link_base: str = "") -> Iterator[Template]:
    """Every template; those with the responder link only with the address it starts
    with (`notifications.public_url`)."""
    for key in MESSAGES:
        for language in catalog.LANGUAGES:
            yield template(key, language)
            if link_base and key in LINKED:
                yield template(key, language, link_base)


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


def link_fits(token: str, limit: int = VARIABLE_MAX) -> bool:
    """A link's token goes whole or not at all: never cut, never empty, one word."""
    return 0 < len(token) <= limit and token.isascii() and not any(c.isspace() for c in token)


def print_templates(fmt: str, out: TextIO, link_base: str = "") -> int:
    """`dispatcher templates --provider aliyun`: every template, for registration; with
    `link_base`, the variants with the responder link too."""
    found = list(all_templates(link_base))
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
