"""The process's long-lived tasks, watched.

Every loop of the service (the MQTT sessions, ingest, the engine, the notifier, the
live feed, the PostgreSQL bus) runs until the service stops, and catches what goes wrong
inside it: a lost connection, a failed pass. A task that still ends with an exception is
a bug past all of that, and a process living on without its ingest or its engine looks
healthy while it lets presses wait. So `watched` starts each such task, and one that ends
with an exception is logged with its traceback and the services of this process are
told (`on_failure`): `dispatcher run` then stops and exits with `EX_SOFTWARE`, which the
systemd units in deploy/ restart on, for a clean start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Final

log = logging.getLogger("dispatcher.loops")

# sysexits.h: "internal software error": restarted by the units (only EX_CONFIG is not)
EX_SOFTWARE: Final = 70

# told the name of a task that failed; the services running in this process
_listeners: set[Callable[[str], None]] = set()


def watched(coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
    """A task that must run until it is stopped (cancelled, or told to end)."""
    task = asyncio.create_task(coro, name=name)
    task.add_done_callback(_ended)
    return task


def on_failure(listener: Callable[[str], None]) -> Callable[[], None]:
    """Call `listener(task name)` when a watched task fails; returns how to stop."""
    _listeners.add(listener)
    return lambda: _listeners.discard(listener)


def _ended(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return  # stopped by its owner
    exc = task.exception()
    if exc is None:
        return  # it ended because its owner told it to
    log.critical(
        "%s ended with an error that nothing caught; the process stops for a clean start",
        task.get_name(),
        exc_info=exc,
    )
    for listener in list(_listeners):
        listener(task.get_name())
