"""The topic rules of docs/protocol.md, exhaustively for one terminal, another, and the
dispatcher; and the same rules as Mosquitto's ACL file."""

from __future__ import annotations

import itertools

import pytest

from dispatcher.broker_accounts.topics import (
    TERMINAL_READS,
    TERMINAL_WRITES,
    DispatcherLogin,
    TerminalLogin,
    may_publish,
    may_receive,
    may_subscribe,
    mosquitto_acl,
)

PREFIX = "city_file/eldercare"
ME, OTHER = TerminalLogin("T-0001"), TerminalLogin("T-0002")
KINDS = (*TERMINAL_WRITES, *TERMINAL_READS, "other")
DEVICES = ("T-0001", "T-0002", "+", "#", "bad id")


def topic(device: str, kind: str) -> str:
    return f"{PREFIX}/terminals/{device}/{kind}"


@pytest.mark.parametrize(("device", "kind"), list(itertools.product(DEVICES, KINDS)))
def test_a_terminal_speaks_and_hears_only_for_itself(device: str, kind: str) -> None:
    own = device == "T-0001"
    assert may_publish(ME, topic(device, kind), prefix=PREFIX) == (own and kind in TERMINAL_WRITES)
    assert may_subscribe(ME, topic(device, kind), prefix=PREFIX) == (own and kind in TERMINAL_READS)
    assert may_receive(ME, topic(device, kind), prefix=PREFIX) == (own and kind in TERMINAL_READS)


@pytest.mark.parametrize(("device", "kind"), list(itertools.product(DEVICES, KINDS)))
def test_the_dispatcher_reads_terminals_and_answers_them(device: str, kind: str) -> None:
    real = device in ("T-0001", "T-0002")
    login = DispatcherLogin()
    assert may_publish(login, topic(device, kind), prefix=PREFIX) == (
        real and kind in TERMINAL_READS
    )
    assert may_subscribe(login, topic(device, kind), prefix=PREFIX) == (
        (real or device == "+") and kind in TERMINAL_WRITES
    )
    assert may_receive(login, topic(device, kind), prefix=PREFIX) == (
        real and kind in TERMINAL_WRITES
    )


@pytest.mark.parametrize(
    "elsewhere",
    [
        "eldercare/terminals/T-0001/event",  # another prefix
        f"{PREFIX}/terminals/T-0001/event/more",
        f"{PREFIX}/terminals/T-0001",
        f"{PREFIX}/terminals/#",
        f"{PREFIX}/#",
        "#",
        "$SYS/broker/clients",
    ],
)
def test_nothing_outside_the_terminal_topics(elsewhere: str) -> None:
    for login in (ME, OTHER, DispatcherLogin()):
        assert not may_publish(login, elsewhere, prefix=PREFIX)
        assert not may_subscribe(login, elsewhere, prefix=PREFIX)
        assert not may_receive(login, elsewhere, prefix=PREFIX)


def test_mosquitto_acl_says_the_same() -> None:
    acl = mosquitto_acl(prefix=PREFIX, dispatcher_username="dispatcher").splitlines()
    patterns = [line for line in acl if line.startswith("pattern ")]
    assert patterns == [
        f"pattern write {PREFIX}/terminals/%u/event",
        f"pattern write {PREFIX}/terminals/%u/heartbeat",
        f"pattern write {PREFIX}/terminals/%u/status",
        f"pattern read {PREFIX}/terminals/%u/ack",
        f"pattern read {PREFIX}/terminals/%u/command",
    ]
    dispatcher = acl[acl.index("user dispatcher") + 1 :]
    assert dispatcher == [
        f"topic read {PREFIX}/terminals/+/event",
        f"topic read {PREFIX}/terminals/+/heartbeat",
        f"topic read {PREFIX}/terminals/+/status",
        f"topic write {PREFIX}/terminals/+/ack",
        f"topic write {PREFIX}/terminals/+/command",
    ]
    with pytest.raises(ValueError, match="must not contain '%'"):
        mosquitto_acl(prefix="a%u", dispatcher_username="dispatcher")
