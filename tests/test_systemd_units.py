"""The systemd units of deploy/systemd: `systemd-analyze verify` finds nothing to say
about them, and they keep the promises of the README: restarted always (but not on a
configuration error, EX_CONFIG), ordered after PostgreSQL and Mosquitto, run as their
own user, hardened, writing only the state directory they name."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dispatcher.startup import EX_CONFIG

UNITS = Path(__file__).resolve().parents[1] / "deploy" / "systemd"
INSTALLED = "/opt/dispatcher/.venv/bin/dispatcher"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((UNITS / name).read_text(encoding="utf-8"))
    return parser


def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is missing (Debian: apt-get install systemd)")
    ours = Path(sys.executable).parent / "dispatcher"
    assert ours.exists(), "the venv's dispatcher command (pip install -e .)"
    names = ["dispatcher.service", "dispatcher@front.service", "dispatcher.target"]
    for name in ("dispatcher.service", "dispatcher@.service", "dispatcher.target"):
        text = (UNITS / name).read_text(encoding="utf-8")
        # verify checks that ExecStart's program exists: the one of this checkout
        (tmp_path / name).write_text(text.replace(INSTALLED, str(ours)), encoding="utf-8")
    shutil.copyfile(tmp_path / "dispatcher@.service", tmp_path / "dispatcher@front.service")
    done = subprocess.run(
        [analyze, "verify", *(str(tmp_path / n) for n in names)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # unknown keys and bad values are only warnings (status 0): none may name our units
    said = [line for line in (done.stdout + done.stderr).splitlines() if "dispatcher" in line]
    assert done.returncode == 0, done.stderr
    assert said == []


@pytest.mark.parametrize("name", ["dispatcher.service", "dispatcher@.service"])
def test_the_units_restart_wait_for_their_services_and_are_hardened(name: str) -> None:
    unit = _unit(name)
    service, order = unit["Service"], unit["Unit"]
    assert service["Restart"] == "always"
    assert service["RestartPreventExitStatus"] == str(EX_CONFIG)
    assert order["StartLimitIntervalSec"] == "0"
    for needed in ("postgresql.service", "mosquitto.service"):
        assert needed in order["After"].split()
        assert needed in order["Wants"].split()
    assert service["User"] == "dispatcher"
    assert service["ExecStart"].startswith(INSTALLED)
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["ProtectHome"] == "yes"
    assert service["CapabilityBoundingSet"] == ""
    assert service["UMask"] == "0077"
    # what it writes: the state directory, its working directory, and nothing else
    assert service["ReadWritePaths"] == service["WorkingDirectory"] == "/var/lib/dispatcher"


def test_the_split_processes_read_their_roles_and_port() -> None:
    service = _unit("dispatcher@.service")["Service"]
    assert "/etc/dispatcher/%i.env" in service["EnvironmentFile"]
    for env in ("front.env", "back.env"):
        keys = dict(
            line.split("=", 1)
            for line in (UNITS / env).read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")
        )
        assert {"DISPATCHER_RUN__ROLES", "DISPATCHER_HTTP__PORT"} <= keys.keys()
