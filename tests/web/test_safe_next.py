"""`safe_next`: wherever a login or language switch sends the user on, it stays on this
site, as a browser reads the target (WHATWG URL parsing: tabs and newlines dropped,
control characters and spaces trimmed at the ends, a backslash read as a slash)."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from hypothesis import example, given
from hypothesis import strategies as st

from dispatcher.web.session import safe_next

BASE = "https://dispatch.example/login"
# the characters that turn a path into another host, or that browsers bend
ODD = st.sampled_from(["/", "\\", "\t", "\n", "\r", " ", "\x00", "\x0b", "\x1f", "\x7f", ":", "@"])
ODD_TEXT = st.lists(ODD | st.characters(codec="utf-8"), max_size=12).map("".join)


def as_a_browser_reads(target: str) -> str:
    """The host a browser would go to for the Location `target` on our page."""
    cleaned = re.sub(r"[\t\n\r]", "", target).strip("".join(map(chr, range(0x21))))
    return urlsplit(urljoin(BASE, cleaned.replace("\\", "/"))).netloc


@given(prefix=ODD_TEXT, host=st.sampled_from(["evil.example", "evil.example/x", "//evil"]))
@example(prefix="/\t/", host="evil.example")
@example(prefix="/\n/", host="evil.example")
@example(prefix="/\\", host="evil.example")
@example(prefix=" //", host="evil.example")
def test_never_another_site(prefix: str, host: str) -> None:
    chosen = safe_next(prefix + host)
    assert as_a_browser_reads(chosen) == "dispatch.example", chosen
    assert chosen.isascii()
    assert chosen.isprintable()


@given(target=ODD_TEXT)
def test_whatever_is_given_the_answer_is_a_path_here(target: str) -> None:
    chosen = safe_next(target)
    assert chosen.startswith("/")
    assert not chosen.startswith("//")
    assert as_a_browser_reads(chosen) == "dispatch.example"


def test_our_own_paths_go_through() -> None:
    assert safe_next("/alarms/12?tab=notes") == "/alarms/12?tab=notes"
    assert safe_next("/residents?q=王") == "/residents?q=%E7%8E%8B"
    assert safe_next("/\t/evil.example") == "/queue"
    assert safe_next(None) == "/queue"
