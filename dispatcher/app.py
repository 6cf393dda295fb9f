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
import logging
import secrets
from types import TracebackType
from typing import Self

from aiohttp import web
from aiohttp.typedefs import Handler

from dispatcher.clock import Clock, SystemClock
from dispatcher.config import ROLES, Role, Settings, split_refused
from dispatcher.engine.runner import Engine
from dispatcher.ingest.broker import EmbeddedBroker
from dispatcher.ingest.heartbeats import HeartbeatBatcher
from dispatcher.ingest.listener import Listener
from dispatcher.ingest.liveness import LivenessListener
from dispatcher.ingest.writer import BatchWriter
from dispatcher.logs import about
from dispatcher.metrics import Metrics
from dispatcher.notify.channels import DashboardChannel, LogChannel, Registry, TerminalChannel
from dispatcher.notify.mqtt_commands import CommandPublisher
from dispatcher.notify.twilio import TwilioGateway
from dispatcher.notify.twilio_channels import SmsChannel, VoiceChannel
from dispatcher.notify.worker import Notifier
from dispatcher.rules.rejections import RepeatLimit
from dispatcher.rules.throttle import Throttle
from dispatcher.startup import check_broker_settings, wait_for_database
from dispatcher.store.db import create_engine, is_postgresql, is_sqlite, session_factory
from dispatcher.store.ingest import BatchResult
from dispatcher.wakes import WakeBus
from dispatcher.web import health as web_health
from dispatcher.web import live_hub
from dispatcher.web.app import init_app, init_ops_app
from dispatcher.web.state import WebDeps

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
        roles: frozenset[Role] | None = None,
        poll_s: float | None = None,
    ) -> None:
        self.settings = settings
        self.roles: frozenset[Role] = settings.run.role_set if roles is None else roles
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
        self.engine = create_engine(settings.database.url, echo=settings.database.echo)
        self.sessions = session_factory(self.engine)
        ingest = settings.ingest
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
            writer=BatchWriter(
                self.sessions,
                cancel_closes_emergency=settings.alarms.cancel_closes_emergency,
                metrics=self.metrics,
                logger=log.getChild("ingest"),
                tell_contacts=settings.notifications.tell_contacts,
            ),
            clock=self.clock,
            heartbeats=self.heartbeats,
            repeats=repeats,
            metrics=self.metrics,
            logger=log.getChild("ingest"),
            on_batch=self._on_batch,
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
        skip_locked = not is_sqlite(self.engine)
        # the loops poll in the clock's seconds: half a real second under a demo's
        # faster clock too, not a busy loop (tests of the wake-ups make it long)
        if poll_s is None:
            poll_s = 0.5 * settings.clock.speed
        self.escalation = Engine(
            settings,
            sessions=self.sessions,
            clock=self.clock,
            metrics=self.metrics,
            skip_locked=skip_locked,
            logger=log.getChild("engine"),
            on_queued=self._wake_notifier,
            poll_s=poll_s,
        )
        # a notifier without ingest beside it publishes terminal commands on a session
        # of its own; with ingest, on ingest's (one session fewer on the broker)
        self.commands: CommandPublisher | None = None
        if "notifier" in self.roles and "ingest" not in self.roles:
            self.commands = CommandPublisher(self.mqtt, logger=log.getChild("notify"))
        self.escalation.on_alarms = self._on_engine_alarms
        self.twilio: TwilioGateway | None = None
        throttle = settings.notifications.throttle
        self.notifier = Notifier(
            self._channels(),
            sessions=self.sessions,
            clock=self.clock,
            metrics=self.metrics,
            skip_locked=skip_locked,
            logger=log.getChild("notify"),
            on_escalation_moved=self._wake_engine,
            throttle=Throttle(throttle.limit, throttle.window_s, throttle.gather_s),
            max_segments=settings.notifications.sms_max_segments,
            max_attempts=settings.notifications.max_attempts,
            poll_s=poll_s,
            owner=settings.mqtt.client_id,
            stale_after_s=settings.notifications.claim_stale_s,
        )
        deps = WebDeps(
            settings=settings,
            sessions=self.sessions,
            clock=self.clock,
            metrics=self.metrics,
            broker_ok=lambda: self.broker_connected,
            on_alarm_changed=self._on_alarm_changed,
            on_queued=self._on_queued,
        )
        self.web_app = init_app(deps)
        # without the web role: /healthz and /metrics alone, on http.host and http.port
        self._http_app = self.web_app if "web" in self.roles else init_ops_app(deps)
        # the wake-ups for roles served by other processes: PostgreSQL NOTIFY
        self.wakes: WakeBus | None = None
        if self.split and is_postgresql(self.engine):
            # from another process, the engine wakes for alarms: a change of terminals
            # or check-ins is seen at its next poll (`Engine.loop_pass`)
            local = {"engine": self.escalation.wake_for_alarms, "notifier": self.notifier.wake}
            self.wakes = WakeBus(
                settings.database.url,
                local={role: wake for role, wake in local.items() if role in self.roles},
                logger=log.getChild("wakes"),
            )
        self._serve_http = serve_http
        self._run_migrations = run_migrations
        self._stack = contextlib.AsyncExitStack()
        self.http_port: int | None = None
        # the database answered and every part started
        self.ready = False

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
        notifications = self.settings.notifications
        if notifications.provider == "twilio":
            tw = notifications.twilio
            self.twilio = TwilioGateway(
                tw.api_base,
                tw.account_sid,
                tw.auth_token,
                tw.from_number,
                tw.timeout_s,
                machine_detection="Enable" if tw.machine_detection else None,
            )
            channels["sms"] = SmsChannel(self.twilio, notifications.public_url)
            channels["voice"] = VoiceChannel(self.twilio, notifications.public_url)
        else:
            channels["sms"] = LogChannel("sms", notify_log)
            channels["voice"] = LogChannel("voice", notify_log)
        return channels

    def _on_batch(self, result: BatchResult) -> None:
        for alarm_id, (kind, device_id) in result.opened_kinds.items():
            self.metrics.alarms_opened.labels(kind).inc()
            log.info("alarm %d opened: %s", alarm_id, kind, extra=about(alarm_id, device_id))
        for alarm_id, outcome, device_id in result.closed:
            log.info("alarm %d closed: %s", alarm_id, outcome, extra=about(alarm_id, device_id))
        wake: set[Role] = set()
        if "engine" in self.roles:
            # new alarms need their first steps, not a look at every terminal (the loop
            # looks at each poll anyway); a power report does
            if result.power_changed:
                self.escalation.wake()
            elif result.opened:
                self.escalation.wake_for_alarms()
        elif result.opened or result.power_changed:
            wake.add("engine")
        if result.changed:
            wake.add("notifier")
        self._wake(wake)
        live_hub.touch(self.web_app, [*result.opened, *result.changed])

    def _wake(self, roles: set[Role]) -> None:
        """Wake the engine or the notifier, in this process or (NOTIFY) the others."""
        if "engine" in roles and "engine" in self.roles:
            self.escalation.wake()
        if "notifier" in roles and "notifier" in self.roles:
            self.notifier.wake()
        elsewhere = roles - self.roles
        if elsewhere and self.wakes is not None:
            self.wakes.notify(elsewhere)

    def _wake_engine(self) -> None:
        self._wake({"engine"})

    def _wake_notifier(self) -> None:
        self._wake({"notifier"})

    def _on_engine_alarms(self, alarm_ids: list[int]) -> None:
        live_hub.touch(self.web_app, alarm_ids)

    def _on_queued(self) -> None:
        self._wake({"engine", "notifier"})

    def _on_alarm_changed(self, alarm_id: int) -> None:
        self._wake({"engine", "notifier"})
        live_hub.touch(self.web_app, [alarm_id])

    async def __aenter__(self) -> Self:
        """Start every part, in the order they depend on each other; one exit stack
        stops them in the reverse order."""
        stack = self._stack
        runner: web.AppRunner | None = None
        try:
            stack.push_async_callback(self.engine.dispose)
            if not self.mqtt.is_embedded and (self.roles & {"ingest", "notifier"}):
                check_broker_settings(self.mqtt)
            if self._serve_http:
                # at once, so that /healthz says what the service waits for (503)
                runner = await self._start_http()
            await wait_for_database(
                self.engine, run_migrations=self._run_migrations, logger=log.getChild("start")
            )
            roles = self.roles
            if self.wakes is not None:
                await self._start_wakes(self.wakes)
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
            if "engine" in roles:
                await stack.enter_async_context(self.escalation)
            if "notifier" in roles:
                if self.commands is not None:
                    await stack.enter_async_context(self.commands)
                if self.twilio is not None:
                    stack.push_async_callback(self.twilio.close)
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

    async def _start_wakes(self, wakes: WakeBus) -> None:
        task = asyncio.create_task(wakes.run(), name="wake-bus")

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            log.info("wake-ups of other processes: %d sent, %d heard", wakes.sent, wakes.heard)

        # stops last of the loops: the notifier's last wake-ups of the engine still go
        self._stack.push_async_callback(stop)
        if self.roles & {"engine", "notifier"}:
            # LISTENing before the loops start: no wake-up of theirs is lost to the start
            try:
                async with asyncio.timeout(10):
                    await wakes.connected.wait()
            except TimeoutError:
                log.warning("no wake-up connection yet; the loops poll until there is")

    async def _start_http(self) -> web.AppRunner:
        """Serve HTTP; until the service is ready, every request is answered as
        /healthz answers: 503, naming what is missing."""
        self._http_app.middlewares.insert(0, self._until_ready)
        runner = web.AppRunner(self._http_app, access_log=None)
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
        return runner

    @web.middleware
    async def _until_ready(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.ready:
            return await handler(request)
        # the dashboard and the API need the migrated database: say what is missing
        return await web_health.healthz_response(request, starting=True)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # web first (no new actions), then the notifier's sends in flight, the engine's
        # pass, ingest's drain and acks, the last liveness flush, the broker, the database
        await self._stack.aclose()
