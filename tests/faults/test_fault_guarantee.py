"""The fault guarantee (issue 9 §5) on real services, in its short form: 2,000 presses
from 100 terminals to two dispatcher processes sharing the subscription, while 5 of each
fault happen (kill -9 of a dispatcher, Mosquitto restart, PostgreSQL restart with a
dispatcher started while it is down). Then:
every press acked, each logged once, one alarm per SOS, no notification queued or sent
twice (`harness/faults.py`). The figures are printed.

The long form, by hand: `python -m bench.faults --presses 50000 --faults 20`."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.faults import FaultPlan, run_faults

pytestmark = pytest.mark.postgres


async def test_presses_survive_kills_and_restarts_of_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = FaultPlan(presses=2000, terminals=100, faults=5, hold_s=0.5, deadline_s=600)
    report = await run_faults(plan, tmp_path)
    with capsys.disabled():
        print(f"\nfault guarantee:\n{report.summary()}")
    assert report.problems == []
    assert len(report.faults) == 15
    assert report.figures["dispatchers started during a database restart"] == 5
