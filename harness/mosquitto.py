"""Mosquitto as a city runs it, for one test: `deploy/mosquitto.conf` on free ports of
127.0.0.1, with its persistence, account files (`dispatcher broker-files`) and
certificate in the test's own directory."""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path

import aiomqtt

from dispatcher.broker_accounts import commands, secret_key
from dispatcher.clock import SystemClock
from dispatcher.config import Settings
from dispatcher.store.db import create_engine, session_factory
from harness.certs import Certificates, make_certificates
from harness.ports import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
DEPLOY_CONF = Path(__file__).resolve().parents[1] / "deploy" / "mosquitto.conf"


def deployed_conf(
    workdir: Path,
    *,
    dispatcher_listener: str,
    accounts: Path,
    terminals: tuple[int, Certificates] | None,
    quiet: bool = False,
) -> str:
    """`deploy/mosquitto.conf` as a test or a benchmark runs it: the dispatchers'
    listener as given, the terminals' TLS listener on a free port of 127.0.0.1 with a
    test certificate (or, None, left out), persistence and accounts in `workdir` and
    `accounts`; `quiet`: no line per connection (noise at a city's scale). Started as
    root, as the tests and benchmarks are: Mosquitto would drop to user mosquitto, who
    cannot read pytest's 0700 directories."""
    conf = DEPLOY_CONF.read_text()
    swaps = [
        ("listener 1883 127.0.0.1", dispatcher_listener),
        ("/var/lib/mosquitto/", f"{workdir}/"),
        ("/etc/mosquitto/dispatcher/", f"{accounts}/"),
    ]
    if terminals is None:
        start = conf.index("listener 8883 0.0.0.0")
        conf = conf[:start] + conf[conf.index("\n\n", start) + 2 :]
    else:
        port, certs = terminals
        swaps += [
            ("listener 8883 0.0.0.0", f"listener {port} 127.0.0.1"),
            ("/etc/mosquitto/certs/server.crt", str(certs.cert)),
            ("/etc/mosquitto/certs/server.key", str(certs.key)),
        ]
    for old, new in swaps:
        if old not in conf:
            raise AssertionError(f"{DEPLOY_CONF} changed: no {old!r} to replace")
        conf = conf.replace(old, new)
    if quiet:
        conf = conf.replace("log_type notice\nlog_type information\n", "")
    return conf + "\nuser root\n"


class OwnMosquitto:
    """`dispatcher_tls` also puts the test's certificate on the dispatchers' listener."""

    def __init__(self, workdir: Path, *, dispatcher_tls: bool = False) -> None:
        self.workdir = workdir
        self.dispatcher_port, self.terminal_port = free_port(), free_port()
        self.accounts = workdir / "accounts"
        self.certs: Certificates = make_certificates(workdir / "certs")
        self.proc: subprocess.Popen[bytes] | None = None
        dispatcher_listener = f"listener {self.dispatcher_port} 127.0.0.1"
        if dispatcher_tls:
            dispatcher_listener += f"\ncertfile {self.certs.cert}\nkeyfile {self.certs.key}"
        conf = deployed_conf(
            workdir,
            dispatcher_listener=dispatcher_listener,
            accounts=self.accounts,
            terminals=(self.terminal_port, self.certs),
        )
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(conf)

    @property
    def terminal_address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.terminal_port)

    @property
    def dispatcher_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.dispatcher_port}"

    @property
    def terminal_url(self) -> str:
        return f"mqtts://127.0.0.1:{self.terminal_port}"

    async def write_accounts(self, settings: Settings) -> None:
        """`dispatcher broker-files` into this broker's directory; `reload` loads them."""
        assert await commands.write_broker_files(settings, self.accounts) == 0

    def start(self) -> None:
        with (self.workdir / "log.txt").open("ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )

    def reload(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def listening(self) -> bool:
        for port in (self.dispatcher_port, self.terminal_port):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
            except OSError:
                return False
        return True

    def log(self) -> str:
        return (self.workdir / "log.txt").read_text(errors="replace")


async def issue_credentials(
    settings: Settings, device_ids: Sequence[str], *, rotate: bool = False
) -> dict[str, str]:
    """The terminals' passwords, as `dispatcher terminal credentials [--rotate]` prints them."""
    engine = create_engine(settings.database.url)
    try:
        key = secret_key.load_or_create(Path(settings.mqtt.credentials_key_file))
        async with session_factory(engine).begin() as session:
            printed = await commands.credentials(
                session=session,
                key=key,
                device_ids=device_ids,
                rotate=rotate,
                now=SystemClock().now(),
            )
    finally:
        await engine.dispose()
    return dict(printed)


async def logs_in(
    address: tuple[str, int], username: str, password: str | None, tls: ssl.SSLContext | None
) -> bool:
    """Whether the broker accepts this login now. On the terminals' listener the probe
    takes over the session of `username`: probe before connecting as it."""
    try:
        async with aiomqtt.Client(
            *address,
            identifier=f"probe-{uuid.uuid4().hex[:8]}",
            username=username,
            password=password,
            tls_context=tls,
            timeout=5,
        ):
            return True
    except aiomqtt.MqttError:
        return False
