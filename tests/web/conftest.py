"""Fixtures of the web tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh migrated SQLite database, for tests where the database kind does not matter."""
    path = tmp_path / "dispatcher.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"
