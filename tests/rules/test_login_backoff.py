"""The login backoff's arithmetic: free attempts, then a doubling wait up to a cap, per
scope; old counts forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatcher.rules.login_backoff import (
    DEVICE_FOR,
    FORGET_AFTER,
    FREE,
    KNOWN_FOR,
    MAX_WAIT_S,
    Count,
    Scope,
    device_valid,
    known_here,
    retry_after,
    wait_after,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PAIR, ADDRESS = Scope.USER_AT_ADDRESS, Scope.ADDRESS


def test_the_wait_doubles_after_the_free_attempts_up_to_the_cap() -> None:
    free = FREE[PAIR]
    assert [wait_after(n, free) for n in range(free)] == [0.0] * free
    assert [wait_after(free + n, free) for n in range(4)] == [2.0, 4.0, 8.0, 16.0]
    assert wait_after(free + 100, free) == MAX_WAIT_S
    assert wait_after(10**9, free) == MAX_WAIT_S


def test_an_address_may_fail_more_often_than_one_user_there() -> None:
    assert FREE[ADDRESS] > FREE[PAIR]


def test_retry_after_is_the_longest_wait_left_of_any_scope() -> None:
    pair = Count(FREE[PAIR] + 1, NOW - timedelta(seconds=1))  # waits 4 s: 3 left
    address = Count(FREE[ADDRESS], NOW - timedelta(seconds=1))  # waits 2 s: 1 left
    assert retry_after({PAIR: pair, ADDRESS: address}, NOW) == 3.0
    assert retry_after({PAIR: None, ADDRESS: address}, NOW) == 1.0
    assert retry_after({PAIR: pair, ADDRESS: None}, NOW + timedelta(seconds=3)) is None
    # free attempts, no count, and forgotten counts never wait
    assert retry_after({PAIR: Count(FREE[PAIR] - 1, NOW), ADDRESS: None}, NOW) is None
    assert retry_after({PAIR: None, ADDRESS: None}, NOW) is None
    old = Count(10**6, NOW - FORGET_AFTER)
    assert retry_after({PAIR: old, ADDRESS: old}, NOW) is None


def test_a_user_known_at_the_address_passes_its_limit_but_not_their_own() -> None:
    address = Count(FREE[ADDRESS] + 3, NOW)  # flooded with made-up names
    assert retry_after({PAIR: None, ADDRESS: address}, NOW) == 16.0
    assert retry_after({PAIR: None, ADDRESS: address}, NOW, known_here=True) is None
    pair = Count(FREE[PAIR], NOW)  # but guesses at the user's own password still wait
    assert retry_after({PAIR: pair, ADDRESS: address}, NOW, known_here=True) == 2.0


def test_who_is_known_here_and_which_devices_hold() -> None:
    assert not known_here(None, NOW)
    assert known_here(NOW - KNOWN_FOR + timedelta(seconds=1), NOW)
    assert not known_here(NOW - KNOWN_FOR, NOW)
    assert not device_valid(None, NOW)
    assert device_valid(NOW - DEVICE_FOR + timedelta(seconds=1), NOW)
    assert not device_valid(NOW - DEVICE_FOR, NOW)


def test_a_device_counts_alone() -> None:
    device = Count(FREE[Scope.DEVICE], NOW)
    assert retry_after({Scope.DEVICE: device}, NOW) == 2.0
    assert retry_after({Scope.DEVICE: Count(FREE[Scope.DEVICE] - 1, NOW)}, NOW) is None
