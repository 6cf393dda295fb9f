"""A Mosquitto of the benchmarks' own: our deployed configuration on a free port.

The machine's broker runs the stock configuration, which drops QoS 1 past 1,000 queued
(docs/stack-notes.md); a benchmark must measure the broker we ship. So: `deploy/mosquitto.conf`
with its dispatchers' listener moved to a free port of 127.0.0.1 (the terminals' TLS
listener left out: the figures are of the dispatcher, not of TLS), persistence in a
temporary directory, and its accounts: the dispatcher's, as `dispatcher broker-files`
writes it, and one for the load, which speaks for every terminal and reads every
terminal topic (the bare subscribers, the ack collector) and the peer's sensor topics.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dispatcher.broker_accounts.passwords import mosquitto_hash
from dispatcher.broker_accounts.topics import mosquitto_acl
from harness.mosquitto import deployed_conf
from harness.ports import free_port, listening

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
MOSQUITTO_SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
PREFIX = "eldercare"
# the peer's sensors (bench.peer) live beside the terminals
PEER_PREFIX = "bench/sensors"
DISPATCHER_USER = "dispatcher"
DISPATCHER_PASSWORD = "bench-dispatcher"  # noqa: S105 - a throwaway broker's
LOAD_USER, LOAD_PASSWORD = "bench-load", "bench-load-password"


@dataclass(frozen=True)
class Broker:
    port: int
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def load_login(self) -> list[str]:
        """mosquitto_pub/mosquitto_sub arguments that log in as the load."""
        return ["-h", self.host, "-p", str(self.port), "-u", LOAD_USER, "-P", LOAD_PASSWORD]


def _accounts(workdir: Path) -> None:
    (workdir / "passwd-dispatcher").write_text(
        f"{DISPATCHER_USER}:{mosquitto_hash(DISPATCHER_PASSWORD)}\n"
        f"{LOAD_USER}:{mosquitto_hash(LOAD_PASSWORD)}\n"
    )
    load_acl = [
        f"user {LOAD_USER}",
        f"topic readwrite {PREFIX}/terminals/#",
        f"topic readwrite {PEER_PREFIX}/#",
    ]
    acl = mosquitto_acl(prefix=PREFIX, dispatcher_username=DISPATCHER_USER)
    (workdir / "acl").write_text(acl + "\n" + "\n".join(load_acl) + "\n")


@contextlib.contextmanager
def own_mosquitto(workdir: Path) -> Iterator[Broker]:
    """Start it; stop it on the way out. Its log is `workdir/mosquitto.log`."""
    port = free_port()
    path = workdir / "mosquitto.conf"
    path.write_text(
        deployed_conf(
            workdir,
            dispatcher_listener=f"listener {port} 127.0.0.1",
            accounts=workdir,
            terminals=None,
            quiet=True,
        )
    )
    _accounts(workdir)
    log_path = workdir / "mosquitto.log"
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([MOSQUITTO, "-c", str(path)], stdout=log, stderr=log)  # noqa: S603
    try:
        deadline = time.monotonic() + 10
        while not listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not start:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        yield Broker(port)
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it does not go."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
