"""Free ports of 127.0.0.1 for the brokers, databases and dispatchers a test or a
benchmark starts of its own, and whether something listens on one."""

from __future__ import annotations

import contextlib
import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_low() -> int:
    with contextlib.suppress(OSError, ValueError):
        return int(_RANGE.read_text().split()[0])
    return 32768


def free_port() -> int:
    """A port free for TCP and UDP, below the kernel's range of ephemeral ports. A port
    the kernel handed out (bind to 0) is one it hands out again as the local port of
    any outgoing connection: under a busy suite one took a broker's listener between
    this check and its bind ("Address already in use"). Below the range, only another
    listener can take it, and each is checked here."""
    low = _ephemeral_low()
    while True:
        port = random.randrange(10000, max(low, 10001))
        with contextlib.suppress(OSError):
            with socket.socket() as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:
                tcp.bind(("127.0.0.1", port))
                udp.bind(("127.0.0.1", port))
            return port


def listening(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), 0.2):
        return True
    return False
