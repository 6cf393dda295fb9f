"""Which way the imports run (DESIGN.md §3), and where people's words live, checked on
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


SHELL = (
    "dispatcher.store",
    "dispatcher.web",
    "dispatcher.ingest",
    "dispatcher.notify",
    "dispatcher.engine",
    "dispatcher.app",
    "dispatcher.cli",
    "dispatcher.config",
    "dispatcher.clock",
    "dispatcher.passloop",
    "dispatcher.metrics",
)


@pytest.mark.parametrize("path", _modules("dispatcher/rules"), ids=_name)
def test_rules_import_nothing_of_the_shell(path: Path) -> None:
    assert _breaks(path, SHELL) == []


@pytest.mark.parametrize("path", _modules("dispatcher/store"), ids=_name)
def test_the_store_imports_nothing_above_it(path: Path) -> None:
    above = (
        "dispatcher.notify",
        "dispatcher.web",
        "dispatcher.ingest",
        "dispatcher.engine",
        "dispatcher.app",
        "dispatcher.cli",
    )
    assert _breaks(path, above) == []


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
