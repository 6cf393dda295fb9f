"""A clone of the project holds what its readers need: the documents in `docs/` are
there, every link between them resolves, nothing points outside the repository, and
`docs/configuration.md` names every key of the settings model with its default."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from devices import protocol_v1
from devices.events import Heartbeat, TerminalEvent
from dispatcher.city_file.check import check_city
from dispatcher.city_file.read import read_yaml
from dispatcher.config import Settings
from dispatcher.rules.policy import EscalationPolicies
from dispatcher.web import routes

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# where the project's notes lived before docs/: a clone has none of them (spelled in
# pieces so that this file does not name them itself)
OUTSIDE = ("../" + "shared/", "/work/" + "shared")
GONE = ("DESIGN" + ".md", "STACK" + "-NOTES", "STYLE" + ".md")
_SKIPPED_DIRS = {".git", ".venv", "var", "node_modules", "__pycache__", ".mypy_cache"}
_ROW = re.compile(r"^\| `([a-z0-9_.]+)` \| (.*?) \| .* \|$")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_DOC_MENTION = re.compile(r"\bdocs/([a-z0-9_-]+\.md)")


def _tracked_files() -> list[Path]:
    """The repository's files as git tracks them; the tree minus the usual clutter when
    this is not a git checkout (an unpacked archive)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return [
            p
            for p in ROOT.rglob("*")
            if p.is_file() and not _SKIPPED_DIRS & set(p.relative_to(ROOT).parts)
        ]
    return [ROOT / name for name in out.decode().split("\0") if name and (ROOT / name).is_file()]


def _texts() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in _tracked_files():
        try:
            found[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images, fonts
    return found


def test_docs_are_in_the_repository() -> None:
    names = {p.name for p in DOCS.glob("*.md")}
    for needed in ("README.md", "protocol.md", "api.md", "configuration.md", "words.md"):
        assert needed in names
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    unlisted = sorted(n for n in names - {"README.md"} if f"({n})" not in index)
    assert not unlisted, f"docs/README.md does not link {unlisted}"


def test_nothing_points_outside_the_repository() -> None:
    texts = _texts()
    assert len(texts) > 100  # the listing worked
    found = [
        f"{name}:{number}: {line.strip()}"
        for name, text in texts.items()
        for number, line in enumerate(text.splitlines(), 1)
        if any(word in line for word in OUTSIDE + GONE)
    ]
    assert not found, (
        "these lines point at notes a clone does not have; name the document of docs/ "
        "that holds the text instead (e.g. docs/protocol.md):\n" + "\n".join(found)
    )


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors of a document's headings."""
    found = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def test_links_resolve() -> None:
    broken = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file, _, anchor = target.partition("#")
            path = (page.parent / file).resolve() if file else page
            if not path.exists():
                broken.append(f"{page.name}: {target}")
            elif (
                anchor
                and path.suffix == ".md"
                and anchor not in _anchors(path.read_text(encoding="utf-8"))
            ):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, broken


def test_mentions_of_docs_name_documents_that_exist() -> None:
    missing = sorted(
        f"{name}: docs/{doc}"
        for name, text in _texts().items()
        for doc in _DOC_MENTION.findall(text)
        if not (DOCS / doc).exists()
    )
    assert not missing, missing


def _keys(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """Every key of the settings, dotted, with its default; a section's sub-sections
    are walked, an escalation policy is one key (its steps are documented as YAML)."""
    found: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        kind = field.annotation
        if (
            isinstance(kind, type)
            and issubclass(kind, BaseModel)
            and model is not EscalationPolicies
        ):
            found |= _keys(kind, f"{key}.")
        else:
            found[key] = field.get_default(call_default_factory=True)
    return found


def _shown(value: Any) -> str | None:
    """A default as the table writes it; None for one described in words."""
    if isinstance(value, BaseModel):
        return None
    if isinstance(value, str):
        return value or '""'
    return json.dumps(value)


def _rows() -> dict[str, str]:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    return {m[1]: m[2] for line in text.splitlines() if (m := _ROW.match(line))}


def test_every_setting_is_documented_with_its_default() -> None:
    keys, rows = _keys(Settings), _rows()
    assert not sorted(keys.keys() - rows.keys()), "keys without a row in docs/configuration.md"
    assert not sorted(rows.keys() - keys.keys()), "rows of docs/configuration.md for no key"
    wrong = {
        key: (rows[key], shown)
        for key, default in keys.items()
        if (shown := _shown(default)) is not None and rows[key] != f"`{shown}`"
    }
    assert not wrong, f"documented default, real default: {wrong}"


@pytest.mark.parametrize("key", ["mqtt.embedded.tls_port", "notifications.twilio.voice"])
def test_the_check_sees_nested_keys(key: str) -> None:
    assert key in _keys(Settings)
    assert key in _rows()


def _blocks(doc: str, language: str) -> list[str]:
    text = (DOCS / doc).read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_the_city_file_example_passes_the_checks() -> None:
    (example,) = _blocks("city-file.md", "yaml")
    data, errors = check_city(read_yaml(example), current_year=2026)
    assert errors == []
    assert [r.id for r in data.residents] == ["r-0001"]
    assert len(data.contacts) == 2


def test_the_protocol_examples_are_what_the_codec_reads() -> None:
    event, acks, heartbeat, commands = _blocks("protocol.md", "json")
    decoded = protocol_v1.decode(
        "eldercare/terminals/T-0001/event", event.encode(), prefix="eldercare"
    )
    assert isinstance(decoded, TerminalEvent), decoded
    beat = protocol_v1.decode(
        "eldercare/terminals/T-0001/heartbeat", heartbeat.encode(), prefix="eldercare"
    )
    assert isinstance(beat, Heartbeat), beat
    for line in acks.splitlines():
        assert protocol_v1.decode_ack(line.encode()) is not None, line
    for line in commands.splitlines():
        assert protocol_v1.decode_command(line.encode()) is not None, line


def _route_rows() -> dict[str, str]:
    """`METHOD /path` -> role of the routes table of docs/api.md, ids as `{}`."""
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| `(GET|POST|PUT|DELETE) ([^`?]+)[^`]*` \| (\w+(?:, wallboard)?) \|", text, re.MULTILINE
    )
    return {f"{method} {re.sub(r'{[^}]*}', '{}', path)}": role for method, path, role in rows}


def test_every_api_route_has_a_row_with_its_role() -> None:
    documented = _route_rows()
    served = {
        f"{op.method} {re.sub(r'{[^}]*}', '{}', op.path)}": (
            "none" if op.public else op.role.value if op.role is not None else "any"
        )
        + (", wallboard" if op.wallboard else "")
        for op in routes.API
    }
    assert not sorted(served.keys() - documented.keys()), "routes without a row in docs/api.md"
    assert not sorted(documented.keys() - served.keys()), "rows of docs/api.md for no route"
    wrong = {k: (documented[k], role) for k, role in served.items() if documented[k] != role}
    assert not wrong, f"documented role, real role: {wrong}"
