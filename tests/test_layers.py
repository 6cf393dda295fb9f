"""Which way the imports run (docs/README.md), and where people's words live, checked on
the source: each part can be read and tested alone, and one catalog holds the words."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module name `path` imports (`from a.b import c` gives a.b and a.b.c)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _breaks(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        name
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    )


# The rooms of the house (README's layout table names each), from the bottom up: what
# each may not import. A room reads and writes through the rooms below it, never above.
TOP = ("dispatcher.app", "dispatcher.cli")
ROOMS: dict[str, tuple[str, ...]] = {
    "rules": (),  # pure: checked against every other room below
    "store": (
        "actions",
        "views",
        "users",
        "phones",
        "engine",
        "ingest",
        "notify",
        "mqtt",
        "broker_accounts",
        "city_file",
        "web",
    ),
    "actions": ("views", "users", "phones", "engine", "ingest", "notify", "mqtt", "web"),
    "views": ("actions", "users", "phones", "engine", "ingest", "notify", "mqtt", "web"),
    "users": ("actions", "views", "phones", "engine", "ingest", "notify", "mqtt", "web"),
    "engine": ("actions", "users", "phones", "ingest", "notify", "mqtt", "web"),
    "phones": ("views", "users", "ingest", "mqtt", "web"),
    "notify": ("actions", "views", "users", "phones", "engine", "ingest", "mqtt", "web"),
    "broker_accounts": (
        "actions",
        "views",
        "users",
        "phones",
        "engine",
        "ingest",
        "notify",
        "mqtt",
        "web",
    ),
    "mqtt": ("actions", "views", "users", "phones", "engine", "ingest", "notify", "web"),
    "ingest": ("views", "users", "phones", "engine", "notify", "web"),
    "city_file": (
        "actions",
        "views",
        "users",
        "phones",
        "engine",
        "ingest",
        "notify",
        "mqtt",
        "web",
    ),
    "web": ("ingest", "notify", "mqtt", "engine.runner"),
}
SHELL = (
    *tuple(f"dispatcher.{room}" for room in ROOMS if room != "rules"),
    *TOP,
    "dispatcher.config",
    "dispatcher.clock",
    "dispatcher.passloop",
    "dispatcher.metrics",
    "dispatcher.wakes",
    "dispatcher.after_commit",
    "dispatcher.pgbus",
)


@pytest.mark.parametrize("path", _modules("dispatcher/rules"), ids=_name)
def test_rules_import_nothing_of_the_shell(path: Path) -> None:
    assert _breaks(path, SHELL) == []


@pytest.mark.parametrize(
    ("room", "path"),
    [(room, p) for room in ROOMS if room != "rules" for p in _modules(f"dispatcher/{room}")],
    ids=lambda v: _name(v) if isinstance(v, Path) else "",
)
def test_a_room_imports_nothing_above_it(room: str, path: Path) -> None:
    above = tuple(f"dispatcher.{r}" for r in ROOMS[room]) + TOP
    assert _breaks(path, above) == []


def test_every_room_is_in_the_plan() -> None:
    """A folder of `dispatcher/` is a room of the table above and of README's layout."""
    folders = sorted(
        p.name for p in (ROOT / "dispatcher").iterdir() if (p / "__init__.py").exists()
    )
    assert folders == sorted(ROOMS)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [f for f in folders if f"`dispatcher/{f}/`" not in readme] == []


@pytest.mark.parametrize("path", _modules("devices") + _modules("simulators"), ids=_name)
def test_devices_and_simulators_use_no_internals_of_the_service(path: Path) -> None:
    assert _breaks(path, ("dispatcher",)) == []


def test_the_web_never_goes_through_the_listener_or_the_notifier() -> None:
    for path in _modules("dispatcher/web"):
        assert _breaks(path, ("dispatcher.ingest", "dispatcher.notify")) == [], _name(path)


def test_words_live_in_the_catalog() -> None:
    """Chinese text in at most two modules outside the rules (the catalog, and the demo
    city's name lists), and in no script the browser runs."""
    with_chinese = [
        _name(p)
        for package in ("dispatcher", "devices", "simulators")
        for p in _modules(package)
        if CJK.search(p.read_text(encoding="utf-8")) and "dispatcher/rules/" not in _name(p)
    ]
    assert sorted(with_chinese) == ["dispatcher/catalog.py", "simulators/city.py"]
    scripts = sorted((ROOT / "dispatcher/web/static").glob("*.js"))
    assert scripts
    assert [_name(s) for s in scripts if CJK.search(s.read_text(encoding="utf-8"))] == []
