"""Wake-ups between the processes of a service split by roles (`dispatcher run
--roles`), on PostgreSQL: LISTEN/NOTIFY on one channel.

In one process, ingest wakes the escalation engine when it opens an alarm, the engine
wakes the notifier when it queues messages, an operator's action wakes both: plain
calls. When the engine or the notifier runs in another process, the wake-up for it is
sent as a NOTIFY naming the roles to wake, after the change committed (so whoever hears
it reads the change); every process with an engine or a notifier LISTENs, and wakes its
own. Several wake-ups while one NOTIFY is under way go out as one: at most one per
ingest batch, never one per event. A NOTIFY lost with a connection costs only time: the
loops still look every `poll_s`, and after a reconnect they look at once. The connection
is the process's one `dispatcher.pgbus.PgBus`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Final

from dispatcher.pgbus import PgBus

CHANNEL: Final = "dispatcher_wake"


class WakeBus:
    def __init__(self, bus: PgBus, *, local: Mapping[str, Callable[[], None]]) -> None:
        self._bus = bus
        # the loops of this process, by role: woken when another process names them
        self._local = dict(local)
        self.sent = 0  # wake-ups asked of other processes
        self.heard = 0  # wake-ups of a local loop by another process
        if self._local:
            bus.listen(CHANNEL, self._heard, connected=self._wake_all_local)

    @property
    def connected(self) -> bool:
        return self._bus.connected.is_set()

    @property
    def connections(self) -> int:
        return self._bus.connections

    def notify(self, roles: Iterable[str]) -> None:
        """Wake these roles in the other processes, as soon as the connection allows;
        wake-ups waiting together go as one NOTIFY a role."""
        for role in sorted(set(roles)):
            self._bus.send(CHANNEL, role)
            self.sent += 1

    def _heard(self, payload: str) -> None:
        for role in payload.split(","):
            wake = self._local.get(role)
            if wake is not None:
                self.heard += 1
                wake()

    def _wake_all_local(self) -> None:
        # whatever was sent while we were away was not heard: look now
        for wake in self._local.values():
            wake()
