"""What happens after a commit, in one place: a committed `Changes` becomes metrics, log
lines, wake-ups (of the engine and the notifier, in this process or, by PostgreSQL
NOTIFY, in the processes serving those roles) and the live feed of the dashboards.

Whoever commits (ingest, the engine, the notifier, the web) hands its `Changes` here
and knows nothing of the rest; the composition root (`dispatcher.app`) connects this
to the parts a process runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from dispatcher.config import ProcessRole
from dispatcher.logs import about
from dispatcher.metrics import Metrics
from dispatcher.store.changes import Changes


@dataclass
class Wakes:
    """The wake-ups of the roles this process serves, and the NOTIFY for the others."""

    roles: frozenset[ProcessRole]
    engine: Callable[[], None] = lambda: None  # look at everything, terminals too
    engine_for_alarms: Callable[[], None] = lambda: None  # due steps only
    notifier: Callable[[], None] = lambda: None
    elsewhere: Callable[[set[ProcessRole]], None] | None = None
    sent: int = field(default=0)


class AfterCommit:
    def __init__(
        self,
        *,
        metrics: Metrics,
        logger: logging.Logger,
        wakes: Wakes,
        live: Callable[[Iterable[int]], None] = lambda ids: None,
    ) -> None:
        self._metrics = metrics
        self._log = logger
        self._wakes = wakes
        self._live = live

    def __call__(self, changes: Changes, *, origin: ProcessRole | None = None) -> None:
        """`origin`: the role that committed it, never woken by its own change."""
        for o in changes.opened:
            self._metrics.alarms_opened.labels(o.kind).inc()
            self._log.info(
                "alarm %d opened: %s", o.alarm_id, o.kind, extra=about(o.alarm_id, o.device_id)
            )
        for t in changes.taken:
            self._metrics.ack_seconds.labels(t.kind).observe(t.waited_s)
            self._log.info(
                "alarm %d taken by %s via %s after %.0f s",
                t.alarm_id,
                t.by,
                t.via,
                t.waited_s,
                extra=about(t.alarm_id, t.device_id),
            )
        for c in changes.closed:
            ids = about(c.alarm_id, c.device_id)
            if c.by is None:
                self._log.info("alarm %d closed: %s", c.alarm_id, c.outcome, extra=ids)
            else:
                self._log.info("alarm %d closed by %s: %s", c.alarm_id, c.by, c.outcome, extra=ids)
        self._wake(changes, origin)
        if changes.alarms:
            self._live(changes.alarms)

    def _wake(self, changes: Changes, origin: ProcessRole | None) -> None:
        wakes = self._wakes
        wanted: set[ProcessRole] = set()
        if (changes.steps or changes.terminals) and origin != "engine":
            wanted.add("engine")
        if changes.outbox and origin != "notifier":
            wanted.add("notifier")
        if "engine" in wanted and "engine" in wakes.roles:
            # new alarms need their first steps, not a look at every terminal (the loop
            # looks at each poll anyway); a power report or a person's action does
            if changes.terminals:
                wakes.engine()
            else:
                wakes.engine_for_alarms()
        if "notifier" in wanted and "notifier" in wakes.roles:
            wakes.notifier()
        elsewhere = wanted - wakes.roles
        if elsewhere and wakes.elsewhere is not None:
            wakes.elsewhere(elsewhere)
