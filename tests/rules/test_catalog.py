"""The catalog: every entry in both languages, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from dispatcher import catalog
from dispatcher.rules import notifications
from dispatcher.rules.alarms import Outcome
from dispatcher.rules.escalation import WHY_NONE
from dispatcher.rules.policy import AlarmKind, Channel
from dispatcher.store.audit import AuditAction
from simulators.week import CATEGORIES


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(catalog.strings("zh-CN")))
def test_every_entry_has_both_languages_with_the_same_placeholders(key: str) -> None:
    zh, en = catalog.strings("zh-CN")[key], catalog.strings("en")[key]
    assert zh.strip()
    assert en.strip()
    assert _fields(zh) == _fields(en)


@pytest.mark.parametrize(
    ("tag", "language"),
    [("zh-CN", "zh-CN"), ("zh", "zh-CN"), (None, "zh-CN"), ("en", "en"), ("en-GB", "en")],
)
def test_language_tags(tag: str | None, language: str) -> None:
    assert catalog.language(tag) == language


def test_a_phrase_is_said_in_the_language_chosen_later() -> None:
    phrase = catalog.Phrase("reply.taken", {"code": 23})
    assert "23" in phrase.text("zh-CN")
    assert phrase.text("en") == (
        "Thank you: you are taking alarm 23. Reply 3 23 when you are at the door."
    )


def test_phrases_inside_a_phrase_are_said_in_its_language() -> None:
    items = tuple(
        catalog.Phrase("reply.which.item", {"name": n, "code": c})
        for n, c in (("王", 1), ("李", 2))
    )
    phrase = catalog.Phrase("reply.which", {"n": 2, "items": items, "digit": "1", "first": 1})
    assert phrase.text("zh-CN").startswith("您有2起待处理的报警：王（编号1）、李（编号2）。")
    assert "王 (number 1), 李 (number 2)" in phrase.text("en")


def test_an_unknown_key_is_a_bug() -> None:
    with pytest.raises(KeyError):
        catalog.text("no.such.key", "en")


@pytest.mark.parametrize(
    ("prefix", "codes"),
    [
        ("nstatus", [s.value for s in notifications.Status]),
        ("channel", [c.value for c in Channel]),
        ("kind", [k.value for k in AlarmKind]),
        ("outcome", [o.value for o in Outcome]),
        ("audit", [a.value for a in AuditAction]),
        ("category", list(CATEGORIES)),
        ("fact.missing", list(WHY_NONE)),
    ],
)
def test_every_code_the_console_shows_has_words(prefix: str, codes: list[str]) -> None:
    """A code without an entry would be shown as it is, in English, on a Chinese page."""
    missing = [code for code in codes if not catalog.has(f"{prefix}.{code}")]
    assert missing == []
