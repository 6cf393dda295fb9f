"""Watched loops (`dispatcher.loops`): a long-lived task that ends with an error nothing
caught is logged with its traceback and stops the process with EX_SOFTWARE, which the
systemd units restart on; one stopped by its owner, or ending when told to, does not."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dispatcher import cli, loops
from dispatcher.app import Service
from dispatcher.config import Settings
from dispatcher.loops import watched
from harness.mqtt import wait_for

SettingsFor = Callable[..., Settings]


async def _boom() -> None:
    await asyncio.sleep(0)
    raise RuntimeError("a bug past every except")


async def test_a_failed_loop_is_told_and_logged_a_stopped_one_is_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    told: list[str] = []
    stop = loops.on_failure(told.append)
    try:
        quiet = watched(asyncio.sleep(3600), name="quiet")
        done = watched(asyncio.sleep(0), name="done")
        failing = watched(_boom(), name="failing")
        await wait_for(lambda: told)
        quiet.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await quiet
        await done
        await asyncio.sleep(0)  # the done callbacks of the other two have run
        assert told == ["failing"]
        assert failing.done()
        critical = [r for r in caplog.records if r.name == "dispatcher.loops"]
        assert len(critical) == 1
        assert critical[0].exc_info is not None
    finally:
        stop()


async def test_a_failed_loop_stops_dispatcher_run_with_ex_software(
    sqlite_template: Path,
    tmp_path: Path,
    settings_for: SettingsFor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`dispatcher run`, in this process: one of its loops fails once it runs; it stops in
    order and returns 70 (it would wait for a signal otherwise)."""
    started = Service.__aenter__

    async def enter_then_fail(self: Service) -> Any:
        entered = await started(self)
        watched(_boom(), name="listener-bug")
        return entered

    monkeypatch.setattr(Service, "__aenter__", enter_then_fail)
    database = tmp_path / "dispatcher.db"
    shutil.copyfile(sqlite_template, database)
    settings = settings_for(f"sqlite+aiosqlite:///{database}")
    async with asyncio.timeout(60):
        status = await cli._run(settings, settings.run.role_set)
    assert status == loops.EX_SOFTWARE
