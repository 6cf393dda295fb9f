"""Which way the imports run: reading and checking a city file is pure, and the store,
below the city package, never imports it."""

from __future__ import annotations

import json
import subprocess
import sys

SHELL = (
    "dispatcher.store",
    "dispatcher.web",
    "dispatcher.ingest",
    "dispatcher.engine",
    "dispatcher.notify",
    "dispatcher.app",
    "sqlalchemy",
    "aiohttp",
)


def modules_after(code: str) -> list[str]:
    """The modules loaded by a fresh interpreter after running `code`."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_reading_and_checking_import_nothing_of_the_shell() -> None:
    loaded = modules_after("import dispatcher.city_file.check, dispatcher.city_file.read")
    assert "dispatcher.city_file.check" in loaded
    assert [m for m in loaded if m.startswith(SHELL)] == []


def test_the_store_does_not_import_the_city_package() -> None:
    loaded = modules_after(
        "import pkgutil, importlib, dispatcher.store as s\n"
        "for m in pkgutil.iter_modules(s.__path__):\n"
        "    importlib.import_module(f'dispatcher.store.{m.name}')"
    )
    assert "dispatcher.store.alarms" in loaded
    assert [m for m in loaded if m.startswith("dispatcher.city_file")] == []
