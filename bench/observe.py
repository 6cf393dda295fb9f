"""Watching a run from outside: acks on the broker, the yardstick subscribers, the
notification sink, the publishers' logs. Every time is wall-clock ns of this machine
(`time.time_ns()`, Mosquitto's `%U`), one clock for every process.
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench.broker import MOSQUITTO_SUB, PREFIX, Broker, stop


@contextlib.contextmanager
def kept_or_temporary(keep: Path | None, prefix: str) -> Iterator[Path]:
    """The run's work folder: `keep` (made if needed, left behind) or a temporary one."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        yield Path(folder)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(math.ceil(q / 100 * len(ordered)) - 1, 0)]


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "n/a"
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


class _Tail:
    """The new complete lines of a file another process is writing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._rest = b""

    def lines(self) -> list[str]:
        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        data = self._rest + chunk
        *complete, self._rest = data.split(b"\n")
        return [line.decode(errors="replace") for line in complete]


@dataclass
class Ack:
    at_ns: int
    device_id: str
    event_id: str
    result: str


@dataclass
class AckCollector:
    """`mosquitto_sub` on every terminal's ack topic, each line stamped on arrival."""

    proc: subprocess.Popen[bytes]
    tail: _Tail
    acks: dict[tuple[str, str], Ack] = field(default_factory=dict)
    repeated: int = 0
    unreadable: int = 0

    @classmethod
    def start(cls, broker: Broker, workdir: Path, label: str) -> AckCollector:
        path = workdir / f"acks-{label}.txt"
        with path.open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603
                [MOSQUITTO_SUB, *broker.load_login(), "-q", "1", "-F", "%U %t %p",
                 "-t", f"{PREFIX}/terminals/+/ack", "-i", f"bench-acks-{label}"],
                stdout=out,
            )  # fmt: skip
        # mosquitto_sub says nothing when subscribed; it takes milliseconds
        time.sleep(0.5)
        return cls(proc, _Tail(path))

    def poll(self) -> int:
        for line in self.tail.lines():
            stamp, topic, body = [*line.split(" ", 2), "", ""][:3]
            try:
                at = _ns(stamp)
                answer = json.loads(body)
                key = (topic.split("/")[-2], str(answer["event_id"]))
                result = str(answer["result"])
            except (ValueError, KeyError, TypeError):
                self.unreadable += 1
                continue
            if key in self.acks:
                self.repeated += 1
            else:
                self.acks[key] = Ack(at, key[0], key[1], result)
        return len(self.acks)

    def stop(self) -> None:
        stop(self.proc)
        self.poll()


def sent_ns(event_id: str) -> int:
    """The publisher's send time, which it wrote at the end of the event_id."""
    return int(event_id.rsplit("-", 1)[1])


@dataclass
class Sent:
    at_ns: int
    topic: str
    message_id: str


def read_sent(path: Path) -> list[Sent]:
    sent = []
    for line in path.read_text().splitlines():
        at, topic, message_id = line.split(" ", 2)
        sent.append(Sent(int(at), topic, message_id))
    return sent


class SinkLog:
    """What the notification sink received, read as it grows. `watch` starts a phase:
    from then on the first request per key (a recipient) is kept, and counted when it
    is one of the wanted ones."""

    def __init__(self, path: Path) -> None:
        self._tail = _Tail(path)
        self._since = 0
        self._wanted: set[str] = set()
        self.first: dict[str, int] = {}
        self.hits = 0

    def watch(self, since_ns: int, wanted: set[str]) -> None:
        self.poll()
        self._since, self._wanted = since_ns, wanted
        self.first, self.hits = {}, 0

    def poll(self) -> int:
        for line in self._tail.lines():
            at_text, _kind, key = line.split(" ", 2)
            at = int(at_text)
            if at >= self._since and key not in self.first:
                self.first[key] = at
                self.hits += key in self._wanted
        return self.hits


def start_sink(workdir: Path, port: int, label: str) -> tuple[subprocess.Popen[bytes], Path]:
    out = workdir / f"sink-{label}.txt"
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "bench.sink", "--port", str(port), "--out", str(out)],
        stdout=subprocess.PIPE,
    )
    _wait_ready(proc, "sink")
    return proc, out


def _wait_ready(proc: subprocess.Popen[bytes], what: str) -> None:
    stdout: IO[bytes] | None = proc.stdout
    assert stdout is not None
    line = stdout.readline()
    if line.strip() != b"ready":
        stop(proc)
        raise RuntimeError(f"{what} did not start: {line!r}")


@dataclass
class Yardstick:
    """The bare Python subscriber and `mosquitto_sub`, on the topics the dispatcher reads."""

    bare: subprocess.Popen[bytes]
    bare_report: Path
    c_sub: subprocess.Popen[bytes]
    c_out: Path

    @classmethod
    def start(cls, broker: Broker, workdir: Path, topic: str, count: int, label: str) -> Yardstick:
        report = workdir / f"bare-{label}.json"
        bare = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "bench.bare_subscriber", "--port", str(broker.port),
             "--topic", topic, "--count", str(count), "--report", str(report)],
            stdout=subprocess.PIPE,
        )  # fmt: skip
        _wait_ready(bare, "bare subscriber")
        c_out = workdir / f"mosquitto_sub-{label}.txt"
        with c_out.open("wb") as out:
            c_sub = subprocess.Popen(  # noqa: S603
                [MOSQUITTO_SUB, *broker.load_login(), "-q", "1", "-F", "%U", "-t", topic,
                 "-C", str(count), "-W", "600", "-i", f"bench-csub-{label}"],
                stdout=out,
            )  # fmt: skip
        time.sleep(0.5)
        return cls(bare, report, c_sub, c_out)

    def finish(self, timeout: float) -> tuple[dict[str, Any], dict[str, Any]]:
        """(bare Python, mosquitto_sub): received, first_ns, last_ns."""
        for proc in (self.bare, self.c_sub):
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                stop(proc)
        bare = json.loads(self.bare_report.read_text()) if self.bare_report.exists() else {}
        stamps = self.c_out.read_text().split()
        c_sub = {
            "received": len(stamps),
            "first_ns": _ns(stamps[0]) if stamps else 0,
            "last_ns": _ns(stamps[-1]) if stamps else 0,
        }
        return bare, c_sub


def _ns(stamp: str) -> int:
    seconds, _, frac = stamp.partition(".")
    return int(seconds) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])


def rate(count: int, first_ns: int, last_ns: int) -> float:
    seconds = (last_ns - first_ns) / 1e9
    return count / seconds if seconds > 0 else math.nan
