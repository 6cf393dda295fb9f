"""The fault guarantee in its long form, by hand (issue 9 §5). Not a test: it prints
figures, and exits non-zero when a promise was broken.

    .venv/bin/python -m bench.faults --presses 50000 --faults 20
    .venv/bin/python -m bench.faults --presses 2000 --faults 5 --terminals 100 --dispatchers 2

A PostgreSQL cluster, a Mosquitto (deploy/mosquitto.conf) and `dispatcher run` processes
of its own, simulated terminals over TLS with their accounts, the Twilio stand-in; faults
in turn (kill -9 of a dispatcher, broker restart, database restart) spread over the
presses; then everything reconciled. See harness/faults.py.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tempfile
from pathlib import Path

from harness.faults import FaultPlan, FaultReport, run_faults


async def _run(plan: FaultPlan, workdir: Path) -> FaultReport:
    # a SIGTERM stops the run as Ctrl-C does: the services it started are stopped too
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await run_faults(plan, workdir)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presses", type=int, default=50_000, help="SOS presses in all")
    parser.add_argument("--faults", type=int, default=20, help="of each kind")
    parser.add_argument("--terminals", type=int, default=500)
    parser.add_argument("--dispatchers", type=int, default=2)
    parser.add_argument("--hold", type=float, default=1.0, help="seconds an alarm stays open")
    parser.add_argument("--deadline", type=float, default=3 * 3600.0, help="seconds")
    parser.add_argument("--keep", type=Path, help="keep the logs in this directory")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("simulators").setLevel(logging.ERROR)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # the stand-in's
    logging.getLogger("mqtt").setLevel(logging.CRITICAL)  # terminals cut off by a restart
    plan = FaultPlan(
        presses=args.presses,
        terminals=args.terminals,
        faults=args.faults,
        dispatchers=args.dispatchers,
        hold_s=args.hold,
        deadline_s=args.deadline,
    )
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        report = asyncio.run(_run(plan, workdir))
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
