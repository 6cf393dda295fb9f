"""The SIA DC-09 receiver (docs/protocol.md): a second way in for terminals of other makers,
over TCP and UDP, into the same path as MQTT events (`BatchWriter`, the heartbeats).

A message is answered only once it is committed (ACK), or once it is known to be bad
(NAK: damaged or out of time, DUH: not understood). A message that could not be stored
is not answered: the terminal sends it again, as DC-09 terminals do until answered.
Bad input is answered at once, without waiting for the database, and logged with its
bytes only for the first few of each source per window (`RepeatLimit`): a terminal or a
scanner sending garbage never holds up another terminal's SOS. A NULL (supervision)
message is a heartbeat, answered once the batcher has it in memory: like an MQTT
heartbeat, one lost in a crash is replaced by the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devices import dc09
from devices.events import (
    AckResult,
    Heartbeat,
    Rejection,
    TerminalEvent,
)
from dispatcher.clock import Clock
from dispatcher.config import Dc09Config
from dispatcher.ingest.heartbeats import HeartbeatBatcher
from dispatcher.ingest.transaction import Reply
from dispatcher.ingest.writer import BatchWriter, Item
from dispatcher.loops import watched
from dispatcher.metrics import Metrics
from dispatcher.rules.rejections import RepeatLimit
from dispatcher.store.changes import Changes
from dispatcher.store.models import Terminal

_MAX_BATCH = 200
_QUEUE = 5000
_LOOKUP_MIN_S = 2.0  # an unknown account is looked up in the database at most this often
_DRAIN_S = 10.0


@dataclass(frozen=True, slots=True)
class Account:
    device_id: str
    key: bytes | None


@dataclass(slots=True)
class _Pending:
    item: Item
    done: asyncio.Future[Reply | None] | None = None


@dataclass(slots=True)
class Counts:
    """What the receiver answered, for tests, the benchmark and metrics."""

    answers: dict[str, int] = field(default_factory=dict)
    unanswered: int = 0

    def add(self, answer: str) -> None:
        self.answers[answer] = self.answers.get(answer, 0) + 1


class Dc09Receiver:
    """Listens on TCP and UDP; an async context manager that owns its servers and its
    writing loop."""

    def __init__(
        self,
        config: Dc09Config,
        *,
        writer: BatchWriter,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        heartbeats: HeartbeatBatcher,
        repeats: RepeatLimit,
        metrics: Metrics,
        logger: logging.Logger,
        after_commit: Callable[[Changes], None] | None = None,
        max_batch: int = _MAX_BATCH,
        batch_window_s: float = 0.005,
    ) -> None:
        self._config = config
        self._max_batch = max_batch
        self._batch_window_s = batch_window_s
        self._writer = writer
        self._sessions = sessions
        self._clock = clock
        self._heartbeats = heartbeats
        self._repeats = repeats
        self._metrics = metrics
        self._log = logger
        self._after_commit = after_commit
        self._max_age = timedelta(seconds=config.max_age_s)
        self._max_ahead = timedelta(seconds=config.max_ahead_s)
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(_QUEUE)
        self._accounts: dict[str, Account] = {}
        self._loaded_at = -1e9
        self._loading = asyncio.Lock()
        self._tcp: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self._busy = 0  # messages being handled (received, not yet answered)
        self.port = 0
        self.counts = Counts()

    # -- life --------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.reload_accounts()
        loop = asyncio.get_running_loop()
        self._tcp = await asyncio.start_server(
            self._connection, self._config.host, self._config.port or 0
        )
        self.port = self._tcp.sockets[0].getsockname()[1]
        self._udp, _ = await loop.create_datagram_endpoint(
            lambda: _Datagrams(self), local_addr=(self._config.host, self.port)
        )
        self._tasks = [
            watched(self._write_loop(), name="dc09-ingest"),
            watched(self._refresh_loop(), name="dc09-accounts"),
        ]
        self._log.info("DC-09 receiver on %s:%d (TCP and UDP)", self._config.host, self.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._tcp is not None:
            self._tcp.close()
        if self._udp is not None:
            self._udp.close()
        # what was received is written and answered, within limits
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_DRAIN_S):
                # idle connections are not waited for: panels keep theirs open
                while self._busy or not self._queue.empty():  # noqa: ASYNC110
                    await asyncio.sleep(0.01)  # shutdown only, bounded
        for task in [*self._tasks, *self._handlers]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._handlers, return_exceptions=True)
        if self._tcp is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    await self._tcp.wait_closed()
        self._tasks = []

    # -- accounts ----------------------------------------------------------------------

    async def reload_accounts(self) -> None:
        async with self._loading:
            async with self._sessions() as session:
                rows = await session.execute(
                    select(Terminal.dc09_account, Terminal.device_id, Terminal.dc09_key).where(
                        Terminal.protocol == "dc09", Terminal.dc09_account.is_not(None)
                    )
                )
                self._accounts = {
                    account.upper(): Account(device_id, bytes.fromhex(key) if key else None)
                    for account, device_id, key in rows
                    if account is not None
                }
            self._loaded_at = time.monotonic()

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._config.accounts_refresh_s)
            try:
                await self.reload_accounts()
            except Exception:
                self._log.exception("DC-09 accounts not read again; keeping the last ones")

    async def _account(self, account: str | None) -> Account | None:
        if account is None:
            return None
        found = self._accounts.get(account)
        if found is None and time.monotonic() - self._loaded_at > _LOOKUP_MIN_S:
            with contextlib.suppress(Exception):
                await self.reload_accounts()
            found = self._accounts.get(account)
        return found

    # -- one message -------------------------------------------------------------------

    async def handle(self, raw: bytes, source: str) -> bytes | None:
        """The answer to one frame (None: none, the terminal repeats or it was no frame)."""
        self._busy += 1
        try:
            return await self._handle(raw, source)
        finally:
            self._busy -= 1

    async def _handle(self, raw: bytes, source: str) -> bytes | None:
        now = self._clock.now()
        try:
            frame = dc09.parse(raw)
        except dc09.Dc09Error as exc:
            return self._refused(exc, raw, source, None, now)
        account = await self._account(frame.account)
        if account is None:
            err = dc09.Dc09Error(f"unknown account {frame.account}", dc09.Answer.DUH, frame)
            return self._refused(err, raw, source, None, now)
        try:
            msg = dc09.open_message(
                frame, account.key, now=now, max_age=self._max_age, max_ahead=self._max_ahead
            )
        except dc09.Dc09Error as exc:
            return self._refused(exc, raw, source, account, now)
        if msg.is_null:
            self._heartbeats.heartbeat(Heartbeat(account.device_id, now), now)
            return self._answer(dc09.Answer.ACK, frame, account.key, now)
        replies = await asyncio.gather(
            *(self._store(i) for i in dc09.events_of(account.device_id, msg, now))
        )
        if any(r is None for r in replies):
            self.counts.unanswered += 1
            self._metrics.dc09_answers.labels("none").inc()
            return None  # not stored: no answer, the terminal sends it again
        if any(r is not None and r.result is AckResult.REJECTED for r in replies):
            return self._answer(dc09.Answer.DUH, frame, account.key, now)
        return self._answer(dc09.Answer.ACK, frame, account.key, now)

    def _answer(
        self, kind: dc09.Answer, frame: dc09.Frame | None, key: bytes | None, now: datetime
    ) -> bytes:
        self.counts.add(kind.value)
        self._metrics.dc09_answers.labels(kind.value).inc()
        return dc09.answer(kind, frame, key, now=now)

    async def _store(self, item: Item) -> Reply | None:
        done: asyncio.Future[Reply | None] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(item, done))
        return await done

    def _refused(
        self,
        exc: dc09.Dc09Error,
        raw: bytes,
        source: str,
        account: Account | None,
        now: datetime,
    ) -> bytes | None:
        """Answered at once; logged (and its bytes kept) for the first few per source."""
        who = account.device_id if account is not None else f"dc09:{source}"
        if self._repeats.admit(who, exc.reason, now):
            self._log.warning(
                "DC-09 message from %s refused (%s): %r", source, exc.reason, raw[:120]
            )
            rejection = Rejection(
                topic=f"dc09/{source}",
                reason=exc.reason,
                raw=raw[: dc09.MAX_FRAME],
                device_id=account.device_id if account is not None else None,
            )
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(_Pending(rejection))
        if exc.answer is None:
            self.counts.add("none")
            self._metrics.dc09_answers.labels("none").inc()
            return None
        frame = exc.frame
        return self._answer(exc.answer, frame, account.key if account else None, now)

    # -- writing -----------------------------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            first = await self._queue.get()
            if self._batch_window_s > 0 and self._queue.empty():
                # the other terminals' messages of this moment share the commit
                await asyncio.sleep(self._batch_window_s)
            batch = [first]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            except Exception:
                self._log.exception("a DC-09 batch of %d failed; terminals will repeat", len(batch))
                for pending in batch:
                    if pending.done is not None and not pending.done.done():
                        pending.done.set_result(None)

    async def _write(self, batch: list[_Pending]) -> None:
        now = self._clock.now()
        events = [p.item for p in batch if not isinstance(p.item, Rejection)]
        for event in events:
            if isinstance(event, TerminalEvent):
                self._heartbeats.event(event, now)
        result = await self._writer.write([p.item for p in batch], now)
        replies = {(r.device_id, r.event_id): r for r in result.replies}
        for pending in batch:
            if pending.done is not None and not pending.done.done():
                item = pending.item
                pending.done.set_result(replies.get((item.device_id or "", item.event_id or "")))
        if events and self._after_commit is not None:
            self._after_commit(result.changes())

    # -- transports --------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        peer = writer.get_extra_info("peername")
        source = f"tcp:{peer[0]}" if peer else "tcp:?"
        buffer = b""
        junk = 0  # bytes outside frames on this connection
        try:
            while True:
                try:
                    async with asyncio.timeout(self._config.idle_timeout_s):
                        chunk = await reader.read(4096)
                except TimeoutError:
                    break
                if not chunk:
                    break
                frames, buffer, skipped = dc09.split_stream(buffer + chunk)
                if skipped:
                    junk += skipped
                    self._garbage(source, skipped)
                    if junk > dc09.MAX_FRAME:
                        break  # more garbage than a frame: not a DC-09 sender
                for frame in frames:
                    response = await self.handle(frame, source)
                    if response is not None:
                        writer.write(response)
                        await writer.drain()
                if len(buffer) > dc09.MAX_FRAME:
                    self._garbage(source, len(buffer))
                    break  # no end of frame in sight: not a DC-09 sender
        except (ConnectionError, OSError) as exc:
            self._log.debug("DC-09 connection from %s lost: %r", source, exc)
        except asyncio.CancelledError:
            # at shutdown; asyncio would log the handler's cancellation as an error
            pass
        except Exception:
            # a bug must not take the receiver down: this connection ends, the terminal
            # connects again and repeats what was not answered
            self._log.exception("DC-09 connection from %s failed", source)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._handlers.discard(task)

    def _garbage(self, source: str, size: int) -> None:
        reason = "bytes outside a DC-09 frame"
        if self._repeats.admit(f"dc09:{source}", reason, self._clock.now()):
            self._log.warning("DC-09 from %s: %d %s skipped", source, size, reason)

    def datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        async def answer() -> None:
            try:
                response = await self.handle(data, f"udp:{addr[0]}")
            except Exception:
                self._log.exception("DC-09 datagram from %s failed", addr[0])
                return
            if response is not None and self._udp is not None:
                self._udp.sendto(response, addr)

        task = asyncio.create_task(answer(), name="dc09-udp")
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, receiver: Dc09Receiver) -> None:
        self._receiver = receiver

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._receiver.datagram(data, addr)
