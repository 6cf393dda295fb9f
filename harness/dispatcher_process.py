"""One `dispatcher run` as a process of its own, its output in a log file: what the fault
test kills and restarts, and what the benchmarks start in twos and profile."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import aiohttp


class DispatcherProcess:
    def __init__(
        self,
        *,
        env: Mapping[str, str],
        log: Path,
        http_port: int,
        config: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.env = dict(env)
        self.log = log
        self.http_port = http_port
        self.config = config
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        args = [sys.executable, "-m", "dispatcher.cli"]
        if self.config is not None:
            args += ["--config", str(self.config)]
        with self.log.open("ab") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [*args, "run"], cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.starts += 1

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def kill(self) -> None:
        """kill -9: nothing of what it held in memory is written."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self, timeout: float = 60) -> None:
        """An orderly stop (SIGTERM): what it received is committed and acked, its sends
        recorded; SIGKILL when that takes longer than `timeout`."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def wait_healthy(self, within: float = 60) -> None:
        """Until /healthz answers 200 (database reachable, broker connected); for scripts
        without an event loop. RuntimeError with the end of its log when it exits or
        takes longer."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"dispatcher exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"dispatcher not healthy in {within:g} s:\n{self.log_tail()}")

    async def answers(self, client: aiohttp.ClientSession) -> bool:
        """Up and serving /healthz, whatever it says (503 while it waits)."""
        if not self.alive():
            return False
        try:
            async with client.get(self.url("/healthz")):
                return True
        except aiohttp.ClientError:
            return False

    async def healthy(self, client: aiohttp.ClientSession) -> bool:
        if not self.alive():
            return False
        try:
            async with client.get(self.url("/healthz")) as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False
