"""Every package the code imports is declared in pyproject.toml (and so pinned in the
lock), not only present because something else happened to pull it in."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = {"dispatcher", "devices", "simulators", "tests", "bench", "harness", "migrations"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return {_normal(re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0]) for spec in wanted}


def _imported() -> dict[str, str]:
    """Top-level module -> the first file importing it, over all of our code."""
    found: dict[str, str] = {}
    for folder in (
        "dispatcher",
        "devices",
        "simulators",
        "tests",
        "bench",
        "harness",
        "migrations",
    ):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_declared() -> None:
    distributions = packages_distributions()
    declared = _declared()
    missing = {}
    for module, where in _imported().items():
        if module in OURS or module in sys.stdlib_module_names or module == "__future__":
            continue
        owners = {_normal(d) for d in distributions.get(module, [])}
        assert owners, f"{module} (imported in {where}) is not installed"
        if not owners & declared:
            missing[module] = (sorted(owners), where)
    assert missing == {}
