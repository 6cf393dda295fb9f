"""Prometheus metrics, one registry per service instance (tests run several).

Most are counted where things happen. The state of the database (open alarms by kind
and age, the outbox backlog, offline terminals) is read when Prometheus scrapes
(`refresh`), so every process of a city reports the same figures: aggregate those with
`max`, the counters with `sum`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from dispatcher.views.ops_figures import OpsFigures


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # the standard process metrics (CPU, memory, open files, GC), on our registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.events = Counter(
            "dispatcher_terminal_events_total",
            "Terminal events answered, by result",
            ["result"],
            registry=r,
        )
        self.heartbeats = Counter(
            "dispatcher_heartbeats_total", "Heartbeats and status messages received", registry=r
        )
        self.ingest_batch_seconds = Histogram(
            "dispatcher_ingest_batch_seconds",
            "Time to log and commit one batch of terminal events",
            registry=r,
        )
        self.ingest_queue = Gauge(
            "dispatcher_ingest_queue", "MQTT messages received, not yet processed", registry=r
        )
        self.ingest_dropped = Counter(
            "dispatcher_ingest_dropped_total",
            "MQTT messages dropped unacknowledged because a bounded queue was full",
            ["path"],
            registry=r,
        )
        self.dc09_answers = Counter(
            "dispatcher_dc09_answers_total",
            "SIA DC-09 messages answered, by answer (ACK, NAK, DUH; none: not answered)",
            ["answer"],
            registry=r,
        )
        self.mqtt_connected = Gauge(
            "dispatcher_mqtt_connected",
            "1 while every broker session of the process is up (a process needing none: 1)",
            registry=r,
        )
        self.alarms_opened = Counter(
            "dispatcher_alarms_opened_total", "Alarms opened, by kind", ["kind"], registry=r
        )
        self.ack_seconds = Histogram(
            "dispatcher_alarm_ack_seconds",
            "Time from an alarm's opening to its first acknowledgement, by kind",
            ["kind"],
            buckets=(10, 30, 60, 120, 180, 300, 600, 1800, 3600),
            registry=r,
        )
        self.escalation_steps = Counter(
            "dispatcher_escalation_steps_total", "Escalation steps fired", registry=r
        )
        self.escalation_lag = Histogram(
            "dispatcher_escalation_lag_seconds",
            "Delay between a step being due and being fired",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=r,
        )
        self.notifications = Counter(
            "dispatcher_notifications_total",
            "Notification attempts by channel and result",
            ["channel", "result"],
            registry=r,
        )
        self.webhooks_refused = Counter(
            "dispatcher_webhooks_refused_total",
            "Twilio webhook requests refused (no or a wrong signature), by hook",
            ["hook"],
            registry=r,
        )
        self.logins = Counter(
            "dispatcher_logins_total",
            "Dashboard and API logins, by result (ok, failed, throttled)",
            ["result"],
            registry=r,
        )
        # read from the database at each scrape
        self.database_up = Gauge(
            "dispatcher_database_up", "1 when the last scrape could read the database", registry=r
        )
        self.alarms_open = Gauge(
            "dispatcher_alarms_open",
            "Alarms not resolved, by kind, status and age (lt_1m, 1m_5m, 5m_30m, over_30m)",
            ["kind", "status", "age"],
            registry=r,
        )
        self.oldest_open = Gauge(
            "dispatcher_alarm_oldest_open_seconds",
            "Age of the oldest alarm not resolved, by kind and status",
            ["kind", "status"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "dispatcher_outbox_pending", "Notifications waiting to be sent (due or not)", registry=r
        )
        self.outbox_due = Gauge(
            "dispatcher_outbox_due", "Notifications due now and not sent yet", registry=r
        )
        self.outbox_oldest_due = Gauge(
            "dispatcher_outbox_oldest_due_seconds",
            "How long the longest-waiting due notification has been due (0 when none)",
            registry=r,
        )
        self.terminals = Gauge(
            "dispatcher_terminals", "Terminals that have sent heartbeats", registry=r
        )
        self.terminals_offline = Gauge(
            "dispatcher_terminals_offline",
            "Terminals that have sent heartbeats and are offline now",
            registry=r,
        )

    def refresh(self, figures: OpsFigures | None) -> None:
        """The database's state as read for this scrape; None when it could not be read
        (the gauges keep their last values, `dispatcher_database_up` says 0)."""
        if figures is None:
            self.database_up.set(0)
            return
        self.database_up.set(1)
        self.alarms_open.clear()
        self.oldest_open.clear()
        for (kind, status, age), count in figures.open_by_age.items():
            self.alarms_open.labels(kind, status, age).set(count)
        for (kind, status), seconds in figures.oldest_open_s.items():
            self.oldest_open.labels(kind, status).set(seconds)
        self.outbox_pending.set(figures.outbox_pending)
        self.outbox_due.set(figures.outbox_due)
        self.outbox_oldest_due.set(figures.outbox_oldest_due_s)
        self.terminals.set(figures.terminals)
        self.terminals_offline.set(figures.terminals_offline)
