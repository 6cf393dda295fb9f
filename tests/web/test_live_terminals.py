"""The live follower's look at terminals: the set that needs attention, made by the
database as one string (`views.terminals.trouble_digest`), agrees with the liveness rule
for every state a terminal can be in, on both databases; and the follower tells the
screens exactly the terminals whose state changed: none when nothing did."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import cast

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from dispatcher.rules.liveness import is_online
from dispatcher.store.models import Terminal
from dispatcher.views.terminals import LOW_BATTERY, parse_trouble, trouble_digest
from dispatcher.web.live_hub import Hub
from dispatcher.web.live_sources import Follower

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
LIVENESS = (60, 3)  # offline after 180 s without a heartbeat
Sessions = async_sessionmaker[AsyncSession]

LAST_SEEN = {
    "never": None,
    "fresh": NOW - timedelta(seconds=10),
    "just": NOW - timedelta(seconds=179, microseconds=999_000),
    "at": NOW - timedelta(seconds=180),
    "stale": NOW - timedelta(hours=2),
}
BATTERY = {"none": None, "low": LOW_BATTERY, "ok": LOW_BATTERY + 1, "empty": 0}


def _grid() -> list[Terminal]:
    return [
        Terminal(device_id=f"T-{c}-{seen}-{bat}", connected=c, last_seen=at, battery=level)
        for c, (seen, at), (bat, level) in itertools.product(
            (True, False), LAST_SEEN.items(), BATTERY.items()
        )
    ]


def _expected(terminals: Iterable[Terminal]) -> dict[str, tuple[bool, int | None]]:
    """The rule's answer: problems are offline terminals and low batteries."""
    found = {}
    for t in terminals:
        online = is_online(
            connected=t.connected,
            last_seen=t.last_seen,
            now=NOW,
            interval_s=LIVENESS[0],
            offline_after_missed=LIVENESS[1],
        )
        low = t.battery is not None and t.battery <= LOW_BATTERY
        if not online or low:
            found[t.device_id] = (online, t.battery)
    return found


async def test_the_digest_agrees_with_the_liveness_rule(sessions: Sessions) -> None:
    grid = _grid()
    expected = _expected(grid)
    async with sessions.begin() as session:
        assert await trouble_digest(session=session, now=NOW, liveness=LIVENESS) == ""
        session.add_all(grid)
    async with sessions() as session:
        digest = await trouble_digest(session=session, now=NOW, liveness=LIVENESS)
    # both sides of the threshold and every battery are in the grid
    assert {online for online, _ in expected.values()} == {True, False}
    assert 0 < len(expected) < len(grid)
    assert parse_trouble(digest) == expected


class _Screens:
    """What the follower needs of the hub: the web's dependencies, and a record of the
    terminals it told the screens about."""

    def __init__(self, settings: Settings, sessions: Sessions, clock: ManualClock) -> None:
        self.deps = SimpleNamespace(settings=settings, sessions=sessions, clock=clock)
        self.told: list[set[str]] = []

    def touch(self, alarm_ids: Iterable[int], *, local: bool = True) -> None:
        pass

    def touch_terminals(self, device_ids: Iterable[str], *, local: bool = True) -> None:
        self.told.append(set(device_ids))

    async def end_lapsed_sessions(self) -> None:
        pass


async def test_the_follower_tells_the_terminals_that_changed(
    db_url: str, sessions: Sessions, settings_for: Callable[..., Settings]
) -> None:
    clock = ManualClock(NOW)
    settings = settings_for(db_url, heartbeat={"interval_s": 60, "offline_after_missed": 3})
    screens = _Screens(settings, sessions, clock)
    follower = Follower(cast(Hub, screens), terminals_every=1)
    async with sessions.begin() as session:
        session.add_all(
            [
                Terminal(device_id="T-ok", connected=True, last_seen=NOW, battery=90),
                Terminal(device_id="T-low", connected=True, last_seen=NOW, battery=15),
                Terminal(device_id="T-off", connected=False, last_seen=NOW, battery=90),
            ]
        )

    async def set_terminal(device_id: str, **values: object) -> None:
        async with sessions.begin() as session:
            await session.execute(
                update(Terminal).where(Terminal.device_id == device_id).values(**values)
            )

    await follower.look()  # the first look only learns the set
    assert screens.told == []
    await follower.look()
    assert screens.told == []  # nothing changed, nobody told

    await set_terminal("T-low", battery=14)
    await set_terminal("T-off", connected=True, last_seen=NOW)  # back: leaves the set
    await follower.look()
    assert screens.told == [{"T-low", "T-off"}]

    clock.advance(150)
    await set_terminal("T-off", last_seen=clock.now())
    await set_terminal("T-low", last_seen=clock.now())
    clock.advance(40)  # T-ok, silent for 190 s, is offline now: by time alone
    await follower.look()
    assert screens.told[1:] == [{"T-ok"}]
    await follower.look()
    assert screens.told[2:] == []
