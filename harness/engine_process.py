"""One escalation engine in a process of its own, for tests of several engines sharing
a database: the second process of a large city, without MQTT, notifier or web.

    python -m harness.engine_process DB_URL RUN_DIR [--timeout SECONDS]

It writes RUN_DIR/ready once its first pass is done, runs with the system clock until
RUN_DIR/stop appears, then writes RUN_DIR/report.json (`fired`, `queued`, `passes`).
It gives up with an error after --timeout seconds, so it never outlives a failed test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from pathlib import Path

from dispatcher.clock import SystemClock
from dispatcher.config import Settings
from dispatcher.engine.runner import Engine
from dispatcher.metrics import Metrics
from dispatcher.rules.policy import EscalationPolicies, Policy, Step, default_policies
from dispatcher.store.db import create_engine, is_sqlite, session_factory
from harness.mqtt import wait_for

# how often an idle engine looks for alarms another process opened
POLL_S = 0.05


def _step(notify: str, channels: list[str]) -> Step:
    # one second: the least a policy allows
    return Step.model_validate({"notify": [notify], "channels": channels, "wait_s": 1})


# three one-second steps, no repeat, then the supervisors
SHORT_EMERGENCY = Policy(
    repeat=0,
    steps=(
        _step("operators", ["dashboard"]),
        _step("duty_workers", ["sms", "voice"]),
        _step("contact:1", ["sms"]),
    ),
)


def short_policies() -> EscalationPolicies:
    return default_policies().model_copy(update={"emergency": SHORT_EMERGENCY})


def short_settings(db_url: str) -> Settings:
    """The settings every engine of the test runs with: same database, same policies."""
    return Settings.model_validate({"database": {"url": db_url}, "escalation": short_policies()})


async def run(db_url: str, run_dir: Path, *, timeout_s: float) -> dict[str, int]:
    settings = short_settings(db_url)
    db = create_engine(db_url)
    try:
        engine = Engine(
            settings,
            sessions=session_factory(db),
            clock=SystemClock(),
            metrics=Metrics(),
            skip_locked=not is_sqlite(db),
            logger=logging.getLogger("engine-process"),
            poll_s=POLL_S,
        )
        async with engine:
            await wait_for(lambda: engine.passes > 0, within=timeout_s, interval=POLL_S)
            (run_dir / "ready").touch()
            stop = run_dir / "stop"
            await wait_for(stop.exists, within=timeout_s, interval=POLL_S)
    finally:
        await db.dispose()
    return {"fired": engine.fired, "queued": engine.queued, "passes": engine.passes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db_url")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    report = asyncio.run(run(args.db_url, args.run_dir, timeout_s=args.timeout))
    (args.run_dir / "report.json").write_text(json.dumps(report), encoding="utf-8")


if __name__ == "__main__":
    main()
