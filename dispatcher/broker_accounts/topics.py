"""Who may publish, subscribe and receive on which topic of the broker (docs/protocol.md).

A terminal may publish only to its own `event`, `heartbeat` and `status`, and subscribe
only to its own `ack` and `command`; the dispatcher's account reads every terminal's
`event`, `heartbeat` and `status` and writes `ack` and `command`. Anything else is
refused. The embedded broker asks these functions for every publish, subscription and
delivery; `mosquitto_acl` writes the same rules in Mosquitto's ACL file format, so that
both brokers apply one set of rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.protocol_v1 import is_device_id

TERMINAL_WRITES = ("event", "heartbeat", "status")
TERMINAL_READS = ("ack", "command")


@dataclass(frozen=True, slots=True)
class TerminalLogin:
    """A connection logged in with a terminal's account (username = device_id)."""

    device_id: str


@dataclass(frozen=True, slots=True)
class DispatcherLogin:
    """A connection logged in with the dispatcher's own account."""


Login = TerminalLogin | DispatcherLogin


def _split(topic: str, prefix: str) -> tuple[str, str] | None:
    """(device_id level, kind) of `{prefix}/terminals/{id}/{kind}`, else None."""
    head = f"{prefix}/terminals/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/")
    if len(parts) != 2:
        return None
    return parts[0], parts[1]


def _may(
    login: Login,
    topic: str,
    prefix: str,
    *,
    own: tuple[str, ...],
    every: tuple[str, ...],
    wildcard: bool = False,
) -> bool:
    """`own`: the kinds a terminal may on its own topics; `every`: the kinds the
    dispatcher may on every terminal's (`wildcard`: `+` for the device too)."""
    found = _split(topic, prefix)
    if found is None:
        return False
    device, kind = found
    match login:
        case TerminalLogin(device_id=mine):
            return device == mine and kind in own
        case DispatcherLogin():
            return ((wildcard and device == "+") or is_device_id(device)) and kind in every


def may_publish(login: Login, topic: str, *, prefix: str) -> bool:
    return _may(login, topic, prefix, own=TERMINAL_WRITES, every=TERMINAL_READS)


def may_subscribe(login: Login, topic_filter: str, *, prefix: str) -> bool:
    """Only filters that cannot match a topic the login may not receive."""
    return _may(
        login, topic_filter, prefix, own=TERMINAL_READS, every=TERMINAL_WRITES, wildcard=True
    )


def may_receive(login: Login, topic: str, *, prefix: str) -> bool:
    return _may(login, topic, prefix, own=TERMINAL_READS, every=TERMINAL_WRITES)


def mosquitto_acl(*, prefix: str, dispatcher_username: str) -> str:
    """The rules above as a Mosquitto 2.0 `acl_file`.

    `%u` is the username, which for a terminal is its device_id; the `pattern` lines
    also apply to the dispatcher's account, where they name no real terminal."""
    if "%" in prefix:
        # Mosquitto would read %u or %c inside the prefix as a substitution
        raise ValueError(f"topic prefix {prefix!r} must not contain '%' for Mosquitto's ACL")
    lines = [
        "# Written by `dispatcher broker-files`; do not edit (docs/protocol.md).",
        "# Every terminal: its own topics only (%u is the username, the device id).",
        *(f"pattern write {prefix}/terminals/%u/{kind}" for kind in TERMINAL_WRITES),
        *(f"pattern read {prefix}/terminals/%u/{kind}" for kind in TERMINAL_READS),
        "",
        "# The dispatcher: reads every terminal, answers every terminal.",
        f"user {dispatcher_username}",
        *(f"topic read {prefix}/terminals/+/{kind}" for kind in TERMINAL_WRITES),
        *(f"topic write {prefix}/terminals/+/{kind}" for kind in TERMINAL_READS),
    ]
    return "\n".join(lines) + "\n"
