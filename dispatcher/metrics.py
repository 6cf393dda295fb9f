"""Prometheus metrics, one registry per service instance (tests run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
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
        self.mqtt_connected = Gauge(
            "dispatcher_mqtt_connected", "1 while connected to the broker", registry=r
        )
        self.alarms_opened = Counter(
            "dispatcher_alarms_opened_total", "Alarms opened", ["kind"], registry=r
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
