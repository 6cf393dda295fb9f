"""Where the machine's CPU went during a scenario, read from `/proc`: core-seconds of
the dispatcher processes, PostgreSQL, the broker, the notification sink and the load
(the publishers, the yardsticks, this bench and anything else), and how busy the
cores were.

A profile tells where one process spends its samples; on a machine whose cores the
dispatcher shares with PostgreSQL, Mosquitto and the load, this tells whether the
machine had any time left to give it, and what a rate costs in cores.

A thread samples every process's user + system time every `every_s` for the whole run
and keeps the running totals by kind, so that a scenario can ask for any window of it
afterwards (its load's first message to its last answer). A process that ended between
two samples loses at most that much of its time. Linux only: without `/proc` it
measures nothing and says so.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_TICK_S = 1 / os.sysconf("SC_CLK_TCK")
KINDS = ("dispatcher", "PostgreSQL", "broker", "sink", "load")
CPU_HEAD = " / ".join(KINDS)


def kind_of(comm: str, cmdline: str) -> str:
    """Which part of the run a process is, by its name and command line."""
    if comm == "postgres":
        return "PostgreSQL"
    if comm == "mosquitto":  # not mosquitto_pub / mosquitto_sub: they are load
        return "broker"
    if "dispatcher.cli" in cmdline:
        return "dispatcher"
    if "bench.sink" in cmdline:
        return "sink"
    return "load"


@dataclass(frozen=True)
class Usage:
    """Core-seconds by kind over `wall_s`, and the share of every core that was busy
    (any process of the machine)."""

    wall_s: float
    seconds: dict[str, float]
    busy: float

    def per(self, count: int, unit: str) -> str:
        """Each kind's CPU per `unit` (an event, a press), in microseconds."""
        if count <= 0:
            return "n/a"
        parts = " / ".join(f"{self.seconds.get(k, 0.0) / count * 1e6:,.0f}" for k in KINDS)
        return f"{parts} µs a {unit}; busy {self.busy:.0%}"


@dataclass(frozen=True)
class _Sample:
    at_ns: int
    busy_ticks: int
    all_ticks: int
    by_kind: dict[str, int]  # ticks since the watch began, of every process seen


def _read_stat(pid: str) -> tuple[str, int] | None:
    try:
        raw = (_PROC / pid / "stat").read_bytes()
    except OSError:
        return None
    # the name is in parentheses and may hold spaces: the fields follow the last ')'
    close = raw.rfind(b")")
    comm = raw[raw.find(b"(") + 1 : close].decode(errors="replace")
    fields = raw[close + 2 :].split()
    # utime and stime, fields 14 and 15 of proc(5): 12 and 13 after the name
    return comm, int(fields[11]) + int(fields[12])


def _machine_ticks() -> tuple[int, int]:
    """(busy, all) ticks of every core since boot."""
    values = [int(v) for v in (_PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


class CpuWatch:
    """Samples while open; `usage(from_ns, to_ns)` reads any window of it."""

    def __init__(self, every_s: float = 0.5) -> None:
        self._every_s = every_s
        self._kinds: dict[str, str] = {}  # pid -> kind, learnt once
        self._base: dict[str, int] = {}  # pid -> its ticks when the watch first saw it
        self._last: dict[str, int] = {}  # pid -> its ticks when last seen
        self._retired: dict[str, int] = {}  # kind -> ticks of processes whose pid was reused
        self._samples: list[_Sample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.available = (_PROC / "stat").exists()

    def __enter__(self) -> CpuWatch:
        if self.available:
            self._sample(first=True)
            self._thread = threading.Thread(target=self._run, name="cpu-watch", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._sample(first=False)  # the watch's end is a window's end too

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            self._sample(first=False)

    def _sample(self, *, first: bool) -> None:
        for entry in os.scandir(_PROC):
            pid = entry.name
            if not pid.isdigit():
                continue
            read = _read_stat(pid)
            if read is None:
                continue
            comm, ticks = read
            if self._kinds.get(pid) is None or ticks < self._last.get(pid, 0):
                # new, or the number of one that ended, taken by another
                try:
                    cmdline = (_PROC / pid / "cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    cmdline = b""
                if pid in self._kinds:  # keep what the ended one used
                    self._retire(pid)
                self._kinds[pid] = kind_of(comm, cmdline.decode(errors="replace"))
                # born after the watch began: all its time falls inside the watch
                self._base[pid] = ticks if first else 0
            self._last[pid] = ticks
        by_kind = dict(self._retired)
        for pid, last in self._last.items():
            kind = self._kinds[pid]
            by_kind[kind] = by_kind.get(kind, 0) + last - self._base[pid]
        busy, all_ticks = _machine_ticks()
        self._samples.append(_Sample(time.time_ns(), busy, all_ticks, by_kind))

    def _retire(self, pid: str) -> None:
        kind = self._kinds[pid]
        self._retired[kind] = self._retired.get(kind, 0) + self._last[pid] - self._base[pid]

    def usage(self, from_ns: int, to_ns: int) -> Usage | None:
        """The window between the samples nearest its ends (None: no `/proc`, or no
        sample inside it)."""
        stamps = [s.at_ns for s in self._samples]
        i = max(bisect.bisect_right(stamps, from_ns) - 1, 0)
        j = min(bisect.bisect_left(stamps, to_ns), len(stamps) - 1)
        if j <= i:
            return None
        a, b = self._samples[i], self._samples[j]
        all_ticks = b.all_ticks - a.all_ticks
        return Usage(
            wall_s=(b.at_ns - a.at_ns) / 1e9,
            seconds={k: (b.by_kind.get(k, 0) - a.by_kind.get(k, 0)) * _TICK_S for k in KINDS},
            busy=(b.busy_ticks - a.busy_ticks) / all_ticks if all_ticks else 0.0,
        )
