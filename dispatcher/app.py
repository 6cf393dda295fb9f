"""The composition root: the one place that wires the parts together.

`Service` is used by `dispatcher run` and by the tests, which give it their own
settings and a clock they move by hand. It serves its roles (`run.roles`, `dispatcher
run --roles`): all four in one process by default; in a city, a share of them per
process, on PostgreSQL and Mosquitto, the wake-ups between processes by NOTIFY
(`dispatcher.wakes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Self

from aiohttp import web
from aiohttp.typedefs import Handler

from dispatcher import loops
from dispatcher.after_commit import AfterCommit, Wakes
from dispatcher.catalog import Phrase
from dispatcher.clock import Clock, SystemClock
from dispatcher.config import ROLES, ProcessRole, Settings, split_refused
from dispatcher.engine.runner import Engine
from dispatcher.ingest.dc09 import Dc09Receiver
from dispatcher.ingest.heartbeats import HeartbeatBatcher
from dispatcher.ingest.listener import Listener
from dispatcher.ingest.liveness import LivenessListener
from dispatcher.ingest.writer import BatchWriter
from dispatcher.loops import watched
from dispatcher.metrics import Metrics
from dispatcher.mqtt.commands import CommandPublisher
from dispatcher.mqtt.embedded import EmbeddedBroker
from dispatcher.notify.channels import DashboardChannel, Registry, TerminalChannel
from dispatcher.notify.providers import phone_channels, routes_of
from dispatcher.notify.twilio import TwilioGateway
from dispatcher.notify.worker import Failover, Notifier
from dispatcher.pgbus import PgBus
from dispatcher.phones.bridge import CallBridge, LogBridge, TwilioBridge
from dispatcher.rules.rejections import RepeatLimit
from dispatcher.rules.throttle import Throttle
from dispatcher.startup import (
    check_broker_settings,
    wait_for_database,
    warn_of_database_settings,
)
from dispatcher.store.changes import Changes
from dispatcher.store.db import create_engine, is_postgresql, is_sqlite, session_factory
from dispatcher.wakes import WakeBus
from dispatcher.web import health as web_health
from dispatcher.web import live_hub
from dispatcher.web.app import init_app, init_ops_app
from dispatcher.web.state import WebDeps

_STOP_REQUESTS_S = 5.0
log = logging.getLogger("dispatcher")


class Service:
    """Ingest (with liveness), web, escalation engine and notifier: the roles asked for.

    Every part is built whatever the roles (building does no I/O); only the parts of
    the roles are started."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        serve_http: bool = True,
        run_migrations: bool = True,
        roles: frozenset[ProcessRole] | None = None,
        poll_s: float | None = None,
    ) -> None:
        self.settings = settings
        self.roles: frozenset[ProcessRole] = settings.run.role_set if roles is None else roles
        refused = split_refused(settings, self.roles)
        if refused:
            raise ValueError(refused)
        self.clock: Clock = clock or SystemClock()
        self.metrics = Metrics()
        # the dispatcher's account on the embedded broker needs no configuration: a new
        # password at each start, known to this process alone
        self.mqtt = settings.mqtt
        if self.mqtt.is_embedded and not self.mqtt.password:
            self.mqtt = self.mqtt.model_copy(update={"password": secrets.token_urlsafe(24)})
        self.database = create_engine(settings.database.url, echo=settings.database.echo)
        self.sessions = session_factory(self.database)
        self._build_ingest()
        skip_locked = not is_sqlite(self.database)
        # the loops poll in the clock's seconds: half a real second under a demo's
        # faster clock too, not a busy loop (tests of the wake-ups make it long)
        if poll_s is None:
            poll_s = 0.5 * settings.clock.speed
        self.engine = Engine(
            settings,
            sessions=self.sessions,
            clock=self.clock,
            metrics=self.metrics,
            skip_locked=skip_locked,
            logger=log.getChild("engine"),
            after_commit=functools.partial(self._after_commit, origin="engine"),
            poll_s=poll_s,
        )
        # a notifier without ingest beside it publishes terminal commands on a session
        # of its own; with ingest, on ingest's (one session fewer on the broker)
        self.commands: CommandPublisher | None = None
        if "notifier" in self.roles and "ingest" not in self.roles:
            self.commands = CommandPublisher(self.mqtt, logger=log.getChild("notify"))
        self.twilio: TwilioGateway | None = None
        self._answer_sms: Callable[[str, Phrase, str], Awaitable[str]] | None = None
        throttle = settings.notifications.throttle
        self.notifier = Notifier(
            self._channels(),
            sessions=self.sessions,
            clock=self.clock,
            metrics=self.metrics,
            skip_locked=skip_locked,
            logger=log.getChild("notify"),
            after_commit=functools.partial(self._after_commit, origin="notifier"),
            throttle=Throttle(throttle.limit, throttle.window_s, throttle.gather_s),
            failover=Failover(routes_of(settings.notifications), settings.notifications.failover_s),
            max_segments=settings.notifications.sms_max_segments,
            # responder links start with the address people's phones reach us at
            link_base=settings.notifications.public_url or settings.http.public_origin,
            max_attempts=settings.notifications.max_attempts,
            in_doubt_s=settings.notifications.in_doubt_s,
            poll_s=poll_s,
            owner=settings.mqtt.client_id,
            stale_after_s=settings.notifications.claim_stale_s,
        )
        # one LISTEN/NOTIFY connection on PostgreSQL: the wake-ups and the live feed
        self.bus: PgBus | None = None
        if is_postgresql(self.database):
            self.bus = PgBus(settings.database.url, logger=log.getChild("pgbus"))
        self._database_ready = asyncio.Event()
        deps = WebDeps(
            settings=settings,
            sessions=self.sessions,
            clock=self.clock,
            metrics=self.metrics,
            broker_ok=lambda: self.broker_connected,
            after_commit=self._after_commit,
            bus=self.bus,
            bridge=self._bridge(),
            answer_sms=self._answer_sms,
            database_ready=self._database_ready,
        )
        self._web_deps = deps
        self.web_app = init_app(deps)
        # without the web role: /healthz and /metrics alone, on http.host and http.port
        self._http_app = self.web_app if "web" in self.roles else init_ops_app(deps)
        # the wake-ups for roles served by other processes: PostgreSQL NOTIFY
        self.wakes: WakeBus | None = None
        if self.split and self.bus is not None:
            # from another process, the engine wakes for alarms: a change of terminals
            # or check-ins is seen at its next poll (`Engine.loop_pass`)
            local = {"engine": self.engine.wake_for_alarms, "notifier": self.notifier.wake}
            self.wakes = WakeBus(
                self.bus,
                local={role: wake for role, wake in local.items() if role in self.roles},
            )
        self.after_commit = AfterCommit(
            metrics=self.metrics,
            logger=log,
            wakes=Wakes(
                self.roles,
                engine=self.engine.wake,
                engine_for_alarms=self.engine.wake_for_alarms,
                notifier=self.notifier.wake,
                elsewhere=self.wakes.notify if self.wakes is not None else None,
            ),
            live=lambda ids: live_hub.touch(self.web_app, ids),
        )
        self._serve_http = serve_http
        self._run_migrations = run_migrations
        self._stack = contextlib.AsyncExitStack()
        self.http_port: int | None = None
        self.metrics_port: int | None = None
        # the database answered and every part started
        self.ready = False
        # a watched loop of this process ended with an error nothing caught (its name):
        # `dispatcher run` stops and exits for a clean start (dispatcher.loops)
        self.failed = asyncio.Event()
        self.failure: str | None = None

    def _build_ingest(self) -> None:
        """The terminals' side: heartbeats, the events' listener, the liveness listener and
        (with `dc09.port`) the SIA DC-09 receiver, all writing through batch writers."""
        settings, ingest = self.settings, self.settings.ingest
        # one limit for both paths: the bad input of one terminal, whatever its topic
        repeats = RepeatLimit(
            logged_per_window=ingest.rejections_logged,
            window_s=ingest.rejections_window_s,
            max_sources=ingest.liveness_topics,
        )
        self.heartbeats = HeartbeatBatcher(
            self.sessions,
            interval_s=settings.heartbeat.flush_interval_s,
            clock=self.clock,
            repeats=repeats,
            logger=log.getChild("heartbeats"),
        )
        self.listener = Listener(
            self.mqtt,
            ingest,
            writer=self._batch_writer("ingest", repeats),
            clock=self.clock,
            heartbeats=self.heartbeats,
            repeats=repeats,
            metrics=self.metrics,
            logger=log.getChild("ingest"),
            after_commit=self._after_commit,
        )
        # the SIA DC-09 receiver (docs/protocol.md), beside MQTT when a port is configured
        self.dc09: Dc09Receiver | None = None
        if settings.dc09.port is not None:
            self.dc09 = Dc09Receiver(
                settings.dc09,
                writer=self._batch_writer("dc09", None),
                sessions=self.sessions,
                clock=self.clock,
                heartbeats=self.heartbeats,
                repeats=repeats,
                metrics=self.metrics,
                logger=log.getChild("dc09"),
                after_commit=self._after_commit,
                max_batch=ingest.max_batch,
                batch_window_s=ingest.batch_window_s,
            )
        self.liveness = LivenessListener(
            self.mqtt,
            ingest,
            clock=self.clock,
            heartbeats=self.heartbeats,
            repeats=repeats,
            metrics=self.metrics,
            logger=log.getChild("liveness"),
        )

    def _batch_writer(self, name: str, repeats: RepeatLimit | None) -> BatchWriter:
        return BatchWriter(
            self.sessions,
            cancel_closes_emergency=self.settings.alarms.cancel_closes_emergency,
            metrics=self.metrics,
            logger=log.getChild(name),
            tell_contacts=self.settings.notifications.tell_contacts,
            repeats=repeats,
        )

    def _failed(self, task_name: str) -> None:
        self.failure = self.failure or task_name
        self.failed.set()

    @property
    def split(self) -> bool:
        """Some roles are served by other processes."""
        return self.roles != frozenset(ROLES)

    @property
    def broker_connected(self) -> bool:
        """Every broker session of this process up: with ingest, the events' and the
        heartbeats'; a notifier without ingest, its commands'; none else needs one."""
        if "ingest" in self.roles:
            return self.listener.connected and self.liveness.connected
        if self.commands is not None:
            return self.commands.connected
        return True

    async def _publish_command(self, topic: str, payload: bytes) -> None:
        if self.commands is not None:
            await self.commands.publish(topic, payload)
        else:
            await self.listener.publish(topic, payload)

    def _channels(self) -> Registry:
        notify_log = log.getChild("notify")
        channels: Registry = {
            "dashboard": DashboardChannel(),
            "terminal": TerminalChannel(self._publish_command, self.settings.mqtt.topic_prefix),
        }
        phones = phone_channels(self.settings.notifications, notify_log)
        self.twilio = phones.twilio
        self._answer_sms = phones.aliyun_sms.answer if phones.aliyun_sms is not None else None
        channels["sms"], channels["voice"] = phones.sms, phones.voice
        return channels

    def _after_commit(self, changes: Changes, *, origin: ProcessRole | None = None) -> None:
        # built after the parts it wakes; the parts are told of it before they start
        self.after_commit(changes, origin=origin)

    def _bridge(self) -> CallBridge:
        """Who rings an operator's phone and then whom they call (docs/api.md): the
        voice provider. When numbers are routed to providers, the operator's number will
        choose it as it chooses any other's."""
        if self.twilio is not None:
            return TwilioBridge(self.twilio, self.settings.notifications.public_url)
        return LogBridge(log.getChild("calls"))

    async def __aenter__(self) -> Self:
        """Start every part, in the order they depend on each other; one exit stack
        stops them in the reverse order."""
        stack = self._stack
        runner: web.AppRunner | None = None
        stack.callback(loops.on_failure(self._failed))
        try:
            stack.push_async_callback(self.database.dispose)
            if not self.mqtt.is_embedded and (self.roles & {"ingest", "notifier"}):
                check_broker_settings(self.mqtt)
            if self._serve_http:
                # at once, so that /healthz says what the service waits for (503)
                runner = await self._start_http()
            await wait_for_database(
                self.database, run_migrations=self._run_migrations, logger=log.getChild("start")
            )
            await warn_of_database_settings(self.database, logger=log.getChild("start"))
            self._database_ready.set()
            roles = self.roles
            if self.bus is not None:
                await self._start_bus(self.bus)
            if self.twilio is not None and roles & {"notifier", "web"}:
                # the notifier's SMS and calls, and the web's operator calls: closed last
                stack.push_async_callback(self.twilio.close)
            if "ingest" in roles:
                if self.settings.mqtt.is_embedded:
                    await stack.enter_async_context(
                        EmbeddedBroker(
                            self.mqtt, sessions=self.sessions, logger=log.getChild("broker")
                        )
                    )
                # stops after the listeners, so their last reports are written
                await stack.enter_async_context(self.heartbeats)
                await stack.enter_async_context(self.liveness)
                await stack.enter_async_context(self.listener)
                if self.dc09 is not None:
                    await stack.enter_async_context(self.dc09)
            if "engine" in roles:
                await stack.enter_async_context(self.engine)
            if "notifier" in roles:
                if self.commands is not None:
                    await stack.enter_async_context(self.commands)
                await stack.enter_async_context(self.notifier)
            if not self.mqtt.is_embedded and (roles & {"ingest", "notifier"}):
                log.info(
                    "connecting to the MQTT broker at %s; retrying until it answers",
                    self.mqtt.url,
                )
            if runner is not None:
                # stops first: no new actions while the rest drains
                stack.push_async_callback(runner.cleanup)
            self.ready = True
        except BaseException:
            if runner is not None:
                await runner.cleanup()
            await stack.aclose()
            raise
        return self

    async def _start_bus(self, bus: PgBus) -> None:
        task = watched(bus.run(), name="pgbus")
        wakes = self.wakes

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if wakes is not None:
                log.info("wake-ups of other processes: %d sent, %d heard", wakes.sent, wakes.heard)

        # stops last of the loops: the notifier's last wake-ups of the engine still go
        self._stack.push_async_callback(stop)
        if wakes is not None and self.roles & {"engine", "notifier"}:
            # LISTENing before the loops start: no wake-up of theirs is lost to the start
            try:
                async with asyncio.timeout(10):
                    await bus.connected.wait()
            except TimeoutError:
                log.warning("no wake-up connection yet; the loops poll until there is")

    async def _start_http(self) -> web.AppRunner:
        """Serve HTTP; until the service is ready, every request is answered as
        /healthz answers: 503, naming what is missing."""
        self._http_app.middlewares.insert(0, self._until_ready)
        # a request still under way at a stop gets seconds, not aiohttp's minute: every
        # handler answers in milliseconds, and a stop must not wait on a hung client
        runner = web.AppRunner(self._http_app, access_log=None, shutdown_timeout=_STOP_REQUESTS_S)
        await runner.setup()
        http = self.settings.http
        site = web.TCPSite(runner, http.host, http.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        # the bound port, when port 0 asked the system for a free one
        self.http_port = int(runner.addresses[0][1])
        what = "dashboard and API" if "web" in self.roles else "health and metrics"
        log.info("%s on http://%s:%s", what, http.host, self.http_port)
        metrics = self.settings.metrics
        if metrics.port is not None:
            # a listener of its own, open to whoever reaches it: for a private address
            ops = web.AppRunner(
                init_ops_app(self._web_deps, open_metrics=True),
                access_log=None,
                shutdown_timeout=_STOP_REQUESTS_S,
            )
            await ops.setup()
            self._stack.push_async_callback(ops.cleanup)
            await web.TCPSite(ops, metrics.host, metrics.port).start()
            self.metrics_port = int(ops.addresses[0][1])
            log.info("metrics on http://%s:%s", metrics.host, self.metrics_port)
        return runner

    @web.middleware
    async def _until_ready(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.ready:
            return await handler(request)
        # the dashboard and the API need the migrated database: say what is missing
        return await web_health.healthz_response(request, starting=True)

    async def __aexit__(self, *exc_info: object) -> None:
        # web first (no new actions), then the notifier's sends in flight, the engine's
        # pass, ingest's drain and acks, the last liveness flush, the broker, the database
        await self._stack.aclose()
