"""How much of a terminal's bad input is logged in full. Pure: the caller gives the time.

A terminal with a firmware bug may send the same bad event every second for days. Each
rejection is still answered, but only the first few of a window are logged with their
payload; the others are counted, and the count is logged once the window is over. The
memory is bounded: one small record per source with rejections in its window, at most
`max_sources` of them (past that, the oldest window ends early).
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# distinct reasons told apart per window (the count covers every reason)
_REASONS_KEPT = 5
# the source of messages whose device_id cannot be read (a bad topic)
NO_DEVICE = "-"


@dataclass(frozen=True, slots=True)
class Repeats:
    """Rejections of one source that were counted, not logged, within one window."""

    source: str
    count: int
    since: datetime  # the window's first rejection
    until: datetime  # the window's last one
    reasons: tuple[tuple[str, int], ...]  # the first few distinct reasons, with counts


def source_of(device_id: str | None) -> str:
    return device_id or NO_DEVICE


@dataclass(slots=True)
class _Window:
    since: datetime
    until: datetime
    logged: int = 0
    counted: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


class RepeatLimit:
    """Per source (a terminal's device_id; one source for all messages without one), the
    first `logged_per_window` rejections of a `window_s` window are logged in full."""

    def __init__(self, *, logged_per_window: int, window_s: float, max_sources: int) -> None:
        if logged_per_window < 1 or window_s <= 0 or max_sources < 1:
            raise ValueError("a repeat limit logs at least one, over a positive window")
        self._keep = logged_per_window
        self._window = timedelta(seconds=window_s)
        self._max_sources = max_sources
        # in the order the windows began, so the ended ones are at the front
        self._windows: OrderedDict[str, _Window] = OrderedDict()
        self._ended: list[Repeats] = []

    def admit(self, source: str, reason: str, now: datetime) -> bool:
        """True: log this rejection in full. False: it is counted for the summary."""
        window = self._windows.get(source)
        if window is not None and now - window.since >= self._window:
            self._end(source)
            window = None
        if window is None:
            if len(self._windows) >= self._max_sources:
                self._end(next(iter(self._windows)))
            window = self._windows[source] = _Window(since=now, until=now)
        window.until = now
        if window.logged < self._keep:
            window.logged += 1
            return True
        window.counted += 1
        if reason in window.reasons or len(window.reasons) < _REASONS_KEPT:
            window.reasons[reason] += 1
        return False

    def ended(self, now: datetime) -> list[Repeats]:
        """The counts of windows over by `now` (and of those ended early), once each."""
        while self._windows:
            source, window = next(iter(self._windows.items()))
            if now - window.since < self._window:
                break
            self._end(source)
        ended, self._ended = self._ended, []
        return ended

    def end_all(self) -> None:
        """End every window now (at shutdown); `ended` then gives out their counts."""
        for source in list(self._windows):
            self._end(source)

    @property
    def sources(self) -> int:
        return len(self._windows)

    def _end(self, source: str) -> None:
        window = self._windows.pop(source)
        if window.counted:
            self._ended.append(
                Repeats(
                    source=source,
                    count=window.counted,
                    since=window.since,
                    until=window.until,
                    reasons=tuple(window.reasons.most_common()),
                )
            )
