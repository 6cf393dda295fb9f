"""The Grafana dashboard and the Prometheus alert rules in deploy/ name only metrics the
service exports, and every rule says how bad it is and what happened."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import generate_latest

from dispatcher.metrics import Metrics

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"\b((?:dispatcher|process)_[a-z_]+)\b")


def exported() -> set[str]:
    """Every series name the service's registry can give, as PromQL sees them."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        else:
            names.add(family.name)
    return names


def test_the_alert_rules_watch_what_is_exported() -> None:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text(encoding="utf-8"))
    (group,) = rules["groups"]
    alerts = {rule["alert"]: rule for rule in group["rules"]}
    # what the issue asks for: outbox stuck, broker down, time to take over target
    assert {"DispatcherOutboxStuck", "DispatcherBrokerDown", "DispatcherAckTimeOverTarget"} <= set(
        alerts
    )
    known = exported()
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("page", "warning"), name
        assert rule["annotations"]["summary"], name
        used = set(NAME.findall(rule["expr"]))
        assert used <= known, (name, used - known)
    # the 60 s of the standard is a bucket of the histogram the rule reads
    assert 'le="60.0"' in alerts["DispatcherAckTimeOverTarget"]["expr"]
    metrics = Metrics()
    metrics.ack_seconds.labels("emergency").observe(1)
    assert 'le="60.0"' in generate_latest(metrics.registry).decode()


def test_the_dashboard_shows_what_is_exported() -> None:
    dashboard = json.loads(
        (ROOT / "deploy/grafana/dispatcher-dashboard.json").read_text(encoding="utf-8")
    )
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in exprs for name in NAME.findall(expr)}
    assert used <= exported(), used - exported()
    # the list: open alarms by kind and age, time to take, the outbox, offline
    # terminals, refused webhooks and logins, the process
    for wanted in (
        "dispatcher_alarms_open",
        "dispatcher_alarm_ack_seconds_bucket",
        "dispatcher_outbox_oldest_due_seconds",
        "dispatcher_terminals_offline",
        "dispatcher_webhooks_refused_total",
        "dispatcher_logins_total",
        "process_resident_memory_bytes",
    ):
        assert wanted in used, wanted
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
