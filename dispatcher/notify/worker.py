"""The notifier: drains the outbox through the channel registry.

Each row is claimed and committed before it is sent (one attempt in flight at most);
the result is written after. Temporary failures come back with a backoff; permanent
ones are recorded and let the escalation move on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatcher.catalog import Phrase
from dispatcher.clock import Clock
from dispatcher.loops import watched
from dispatcher.metrics import Metrics
from dispatcher.notify.bundles import summarise_held
from dispatcher.notify.channels import UNCONFIGURED, Outgoing, Registry
from dispatcher.notify.errors import PermanentFailure, UnknownOutcome
from dispatcher.notify.routed import FailedOver
from dispatcher.passloop import PassLoop
from dispatcher.rules.messages import (
    LINK_ADDRESS_STEPS,
    checkin_summary_phrase,
    fit_sms,
    opt_out_phrase,
    responder_url,
    sms_phrase,
    sms_segments,
    sms_text,
    summary_phrase,
    terminal_text,
    told_phrase,
    voice_phrase,
    with_link,
)
from dispatcher.rules.notifications import Purpose
from dispatcher.rules.routes import Route
from dispatcher.rules.throttle import Throttle
from dispatcher.store import deliveries as store
from dispatcher.store.changes import Changes
from dispatcher.store.failover import fail_over, fail_over_unreported


@dataclass(frozen=True, slots=True)
class Failover:
    """Where messages go when their provider fails or never reports (`notifications.routes`)."""

    routes: tuple[Route, ...]
    after_s: float


_BATCH = 50
_CONCURRENCY = 20
_SHUTDOWN_GRACE_S = 15.0
_STALE_CHECK = timedelta(seconds=60)


class HandoverRecorder:
    """Writes what the provider took, many sends in one transaction: each send waits
    until its own is committed, and while one transaction writes, the sends that end
    meanwhile gather for the next. At most one transaction at a time, so the notifier's
    twenty sends in flight hold one database connection between them, not twenty."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        self._waiting: list[tuple[store.Handed, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, handed: store.Handed) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((handed, done))
        if self._writer is None or self._writer.done():
            self._writer = watched(self._write(), name="notifier-handover")
        # shielded: a send cut off at shutdown leaves the write of the others to finish
        await asyncio.shield(done)

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                async with self._sessions.begin() as session:
                    await store.mark_sent(
                        session=session, handed=[h for h, _ in batch], now=self._clock.now()
                    )
            except Exception as exc:
                # left `sending`: found as interrupted at the next start or once stale
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)


# what field's sms_text words itself: the rest (summaries, told, opt-outs) carries no link
_NO_LINK = frozenset(
    {
        Purpose.SUMMARY,
        Purpose.CHECKIN_SUMMARY,
        Purpose.OPT_OUT,
        Purpose.TOLD_TAKEN,
        Purpose.TOLD_CLOSED,
    }
)


def phrase(row: store.ToSend) -> Phrase | None:
    """The catalog entry and values of the message, in the recipient's language: what
    a provider of registered templates sends (None: the terminal's screen)."""
    body = row.body or {}
    facts = row.facts
    if row.channel == "terminal":
        return None
    if row.purpose is Purpose.SUMMARY:
        return summary_phrase(
            body.get("alarms", []), language=row.language, notes=body.get("notes", [])
        )
    if row.purpose is Purpose.CHECKIN_SUMMARY:
        return checkin_summary_phrase(body, language=row.language)
    if row.purpose is Purpose.OPT_OUT or facts is None:
        return opt_out_phrase(body, language=row.language)
    if row.purpose in {Purpose.TOLD_TAKEN, Purpose.TOLD_CLOSED}:
        to_provider = row.recipient_key.startswith("provider:")
        return told_phrase(facts, body, language=row.language, to_provider=to_provider)
    if row.channel == "voice":
        return voice_phrase(facts, language=row.language)
    return sms_phrase(
        facts,
        language=row.language,
        purpose=row.purpose,
        to_provider=row.recipient_key.startswith("provider:"),
    )


def link_token(row: store.ToSend, link_base: str) -> str | None:
    """The responder link's token when the SMS carries one: it asks to act, and the
    public address the link starts with is known (without one, no link at all)."""
    if (
        row.channel == "sms"
        and row.link
        and link_base
        and row.facts is not None
        and row.purpose not in _NO_LINK
    ):
        return row.link
    return None


def wording(row: store.ToSend, *, max_segments: int, link_base: str = "") -> str:
    """The message's words, in the recipient's language (the terminal's: its resident's);
    an SMS that asks to act ends with its responder link when the public address is known."""
    facts = row.facts
    token = link_token(row, link_base)
    if token is not None and facts is not None:
        url = responder_url(link_base, token)
        to_provider = row.recipient_key.startswith("provider:")
        for limit in LINK_ADDRESS_STEPS:  # a shorter address before a cut reply code
            text = sms_text(
                facts,
                language=row.language,
                purpose=row.purpose,
                to_provider=to_provider,
                address_max=limit,
            )
            if sms_segments(f"{text} {url}") <= max_segments:
                break
        return with_link(text, url, max_segments)
    worded = phrase(row)
    if worded is None:
        facts = row.facts
        kind = facts.kind if facts is not None else None
        return terminal_text(
            str((row.body or {}).get("type", "")), row.resident_language, kind=kind
        )
    text = worded.text(row.language)
    return fit_sms(text, max_segments) if row.channel == "sms" else text


def outgoing(row: store.ToSend, *, max_segments: int, link_base: str = "") -> Outgoing:
    return Outgoing(
        notification_id=row.notification_id,
        alarm_id=row.alarm_id,
        purpose=row.purpose.value,
        channel=row.channel,
        recipient_key=row.recipient_key,
        recipient_name=row.recipient_name,
        phone=row.phone,
        language=row.language,
        text=wording(row, max_segments=max_segments, link_base=link_base),
        body=row.body,
        phrase=phrase(row),
        failover=row.failover,
        link=link_token(row, link_base),
    )


class Notifier(PassLoop):
    name = "notifier"

    def __init__(
        self,
        registry: Registry,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        metrics: Metrics,
        skip_locked: bool,
        logger: logging.Logger,
        poll_s: float = 0.5,
        max_attempts: int = 8,
        after_commit: Callable[[Changes], None] | None = None,
        owner: str = "notifier",
        stale_after_s: float = 600.0,
        throttle: Throttle | None = None,
        max_segments: int = 2,
        failover: Failover | None = None,
        link_base: str = "",
        in_doubt_s: float = 30.0,
    ) -> None:
        # orderly stop: sends in flight finish and are recorded, so a restart does not
        # take them for interrupted (an SMS or call cut off is failed, not repeated)
        super().__init__(clock=clock, logger=logger, poll_s=poll_s, grace_s=_SHUTDOWN_GRACE_S)
        self._throttle = throttle
        self._max_segments = max_segments
        self._link_base = link_base  # the public address responder links start with
        self._registry = registry
        self._sessions = sessions
        self._metrics = metrics
        self._skip_locked = skip_locked
        self._max_attempts = max_attempts
        self._in_doubt_s = in_doubt_s
        self._limit = asyncio.Semaphore(_CONCURRENCY)
        # told when a failure moved an escalation: the engine should look now
        self._after_commit = after_commit or (lambda changes: None)
        # signs this process's claims (its mqtt.client_id: its own, the same after a
        # restart), so that a restart recovers its own interrupted sends and no other's
        self._owner = owner
        self._stale_after_s = stale_after_s
        self._stale_checked_at: datetime | None = None
        self._handed = HandoverRecorder(sessions, clock)
        self._failover = failover
        self.sent = 0

    async def starting(self) -> None:
        found = await self._recover(starting=True)
        if found:
            self._log.warning("%d notifications were interrupted by the last stop", found)

    async def _recover(self, *, starting: bool) -> int:
        return await store.recover_interrupted(
            sessions=self._sessions,
            now=self._clock.now(),
            owner=self._owner,
            stale_after_s=self._stale_after_s,
            starting=starting,
        )

    async def next_due(self) -> datetime | None:
        async with self._sessions() as session:
            return await store.next_due(session=session)

    async def run_once(self) -> int:
        """Send everything due now; returns how many were attempted."""
        attempted = 0
        # a process that stopped mid-send and has not come back: its rows, once stale.
        # Looked for once a minute, not every pass: a row is stale after ten
        now = self._clock.now()
        if self._stale_checked_at is None or now - self._stale_checked_at >= _STALE_CHECK:
            self._stale_checked_at = now
            stale = await self._recover(starting=False)
            if stale:
                self._log.warning("%d notifications of a stopped process recovered", stale)
        if self._failover is not None:
            async with self._sessions.begin() as session:
                moved = await fail_over_unreported(
                    session=session,
                    now=self._clock.now(),
                    routes_=self._failover.routes,
                    failover_s=self._failover.after_s,
                )
            if moved:
                self._log.warning(
                    "%d notifications unreported: sent again by the next route", moved
                )
        if self._throttle is not None:
            async with self._sessions.begin() as session:
                await summarise_held(
                    session=session, now=self._clock.now(), throttle=self._throttle
                )
        while True:
            async with self._sessions.begin() as session:
                claimed = await store.claim(
                    session=session,
                    now=self._clock.now(),
                    limit=_BATCH,
                    skip_locked=self._skip_locked,
                    owner=self._owner,
                    throttle=self._throttle,
                )
            for notification_id, reason in claimed.refused:
                await self._write_failure(notification_id, reason)
            messages = [
                outgoing(m, max_segments=self._max_segments, link_base=self._link_base)
                for m in claimed.outgoing
            ]
            await asyncio.gather(*(self._send(m) for m in messages))
            attempted += len(claimed.outgoing)
            if claimed.handled < _BATCH or self._stopping:
                return attempted

    async def _send(self, message: Outgoing) -> None:
        channel = self._registry.get(message.channel, UNCONFIGURED)
        async with self._limit:
            try:
                sid = await channel.send(message)
            except FailedOver as exc:
                self._metrics.notifications.labels(message.channel, "failover").inc()
                self._log.warning("notification %d: %s", message.notification_id, exc)
                async with self._sessions.begin() as session:
                    await fail_over(
                        session=session,
                        notification_id=message.notification_id,
                        move=exc.move,
                        now=self._clock.now(),
                    )
                self.wake()
                return
            except PermanentFailure as exc:
                self._metrics.notifications.labels(message.channel, "permanent_failure").inc()
                self._log.warning(
                    "notification %d to %s failed for good: %s",
                    message.notification_id,
                    message.recipient_name,
                    exc,
                )
                await self._write_failure(message.notification_id, str(exc))
                return
            except Exception as exc:
                doubt = isinstance(exc, UnknownOutcome)
                self._metrics.notifications.labels(
                    message.channel, "in_doubt" if doubt else "retry"
                ).inc()
                self._log.warning(
                    "notification %d to %s %s: %r",
                    message.notification_id,
                    message.recipient_name,
                    f"may have gone; its report awaited {self._in_doubt_s:g} s before a retry"
                    if doubt
                    else "failed, will retry",
                    exc,
                )
                async with self._sessions.begin() as session:
                    gave_up = await store.mark_retry(
                        session=session,
                        notification_id=message.notification_id,
                        error=repr(exc),
                        now=self._clock.now(),
                        max_attempts=self._max_attempts,
                        in_doubt_s=self._in_doubt_s if doubt else None,
                    )
                if gave_up:
                    self._moved()
                return
        self._metrics.notifications.labels(message.channel, "sent").inc()
        await self._handed.record(store.Handed(message.notification_id, sid))
        self.sent += 1

    async def _write_failure(self, notification_id: int, error: str) -> None:
        async with self._sessions.begin() as session:
            moved = await store.fail(
                session=session, notification_id=notification_id, error=error, now=self._clock.now()
            )
        if moved:
            self._moved()

    def _moved(self) -> None:
        self._after_commit(Changes(steps=True))
