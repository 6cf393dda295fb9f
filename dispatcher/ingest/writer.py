"""Committing a batch of terminal messages: one transaction when all goes well, and a
bad item never holds up the others.

A write can fail for three reasons, told apart by what happens next:
- a unique key: another dispatcher logged one of the events first. Each item is then
  written alone, and the one that lost the race is answered `duplicate`.
- the database is away (`SELECT 1` fails too): the whole batch is tried again with a
  backoff, then given up; the terminals repeat what was not acknowledged.
- the database answers, but not to this batch: one item cannot be stored (a value it
  refuses, a bug). Each item is then written alone, so the others go through. An item
  that fails alone is logged as an error; a press among them is not acknowledged (its
  terminal repeats it, and it is taken once the cause is fixed), a rejection is answered
  `rejected` as it would have been.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devices.events import AckResult, Rejection, TerminalEvent, TerminalReport
from dispatcher.ingest.transaction import BatchResult, Reply, record_batch
from dispatcher.metrics import Metrics
from dispatcher.rules.rejections import RepeatLimit, source_of
from dispatcher.store.event_log import log_entry

Item = TerminalEvent | TerminalReport | Rejection

# a database outage is retried this many times before a batch is given up; the
# terminals repeat what was not acknowledged, so giving up loses nothing of theirs
ATTEMPTS = 6
_FIRST_DELAY_S = 0.2
_PROBE_TIMEOUT_S = 5.0


class BatchWriter:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        cancel_closes_emergency: bool,
        metrics: Metrics,
        logger: logging.Logger,
        tell_contacts: bool = True,
        attempts: int = ATTEMPTS,
        first_delay_s: float = _FIRST_DELAY_S,
        repeats: RepeatLimit | None = None,
    ) -> None:
        self._sessions = sessions
        # events of unknown terminals: only the first few of each terminal's window are
        # logged in full (the event log, the service log), as other bad input is
        self._repeats = repeats
        self._cancel_closes = cancel_closes_emergency
        self._tell_contacts = tell_contacts
        self._metrics = metrics
        self._log = logger
        self._attempts = attempts
        self._first_delay_s = first_delay_s
        self.unstorable = 0  # items that failed alone while the database answered

    async def write(self, items: Sequence[Item], now: datetime) -> BatchResult:
        """Log and apply the items, committed; what to answer the terminals is in the
        result. Raises only when the database stayed away for every attempt."""
        started = time.perf_counter()
        delay = self._first_delay_s
        for attempt in range(1, self._attempts + 1):
            try:
                result = await self._write(items, now)
            except IntegrityError:
                return await self._one_by_one(items, now)
            except Exception as exc:
                if await self._database_answers():
                    self._log.warning(
                        "a batch of %d could not be written (%r); writing each alone",
                        len(items),
                        exc,
                    )
                    return await self._one_by_one(items, now)
                if attempt == self._attempts:
                    raise
                self._log.warning(
                    "database away (attempt %d of %d: %r); retrying in %.1fs",
                    attempt,
                    self._attempts,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay *= 2
            else:
                self._metrics.ingest_batch_seconds.observe(time.perf_counter() - started)
                return result
        raise AssertionError("unreachable")

    async def _write(self, items: Sequence[Item], now: datetime) -> BatchResult:
        async with self._sessions.begin() as session:
            return await record_batch(
                session,
                items,
                now=now,
                cancel_closes_emergency=self._cancel_closes,
                tell_contacts_on_close=self._tell_contacts,
                admit=self._admit if self._repeats is not None else None,
            )

    def _admit(self, device_id: str, reason: str, now: datetime) -> bool:
        """Whether to log this rejection in full; the others are counted by the limit and
        their count logged when the terminal's window ends."""
        if self._repeats is None or self._repeats.admit(source_of(device_id), reason, now):
            self._log.warning("rejected event of %s: %s", device_id, reason)
            return True
        return False

    async def _database_answers(self) -> bool:
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT_S), self._sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def _one_by_one(self, items: Sequence[Item], now: datetime) -> BatchResult:
        """Each item in a transaction of its own. Stops (with what was committed so far)
        when the database goes away meanwhile: the rest is repeated by the terminals."""
        merged = BatchResult()
        for item in items:
            try:
                one = await self._write_alone(item, now)
            except Exception as exc:
                if not await self._database_answers():
                    self._log.warning("database away while writing items alone: %r", exc)
                    return merged
                self._unstorable(item, exc)
                await self._note_unstorable(item, exc, now)
                if isinstance(item, Rejection) and item.device_id and item.event_id:
                    merged.replies.append(
                        Reply(item.device_id, item.event_id, AckResult.REJECTED, item.reason)
                    )
                continue
            merged.merge(one)
        return merged

    async def _write_alone(self, item: Item, now: datetime) -> BatchResult:
        try:
            return await self._write([item], now)
        except IntegrityError:
            # a lost race on the unique index: written again, it is now a duplicate
            return await self._write([item], now)

    def _unstorable(self, item: Item, exc: Exception) -> None:
        self.unstorable += 1
        what = "rejection" if isinstance(item, Rejection) else "press"
        self._log.error(
            "a %s of %s (event %r) cannot be stored; %s",
            what,
            item.device_id,
            item.event_id,
            "not acknowledged, the terminal repeats it"
            if not isinstance(item, Rejection)
            else "answered rejected",
            exc_info=exc,
        )

    async def _note_unstorable(self, item: Item, exc: Exception, now: datetime) -> None:
        """A line in the event log, so that the failure is seen where events are read."""
        try:
            async with self._sessions.begin() as session:
                session.add(
                    log_entry(
                        "unstorable",
                        at=now,
                        actor="dispatcher",
                        # the columns' own limits, in case that was what failed
                        device_id=item.device_id[:64] if item.device_id else None,
                        event_id=item.event_id[:64] if item.event_id else None,
                        data={"error": repr(exc)[:500]},
                    )
                )
        except Exception:
            self._log.exception("the failure to store an item could not be logged either")
