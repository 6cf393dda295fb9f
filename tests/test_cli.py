"""The commands as an administrator types them."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "simulators" / "demo_city.yaml"


def dispatcher(
    tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DISPATCHER_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path}/d.db",
        "DISPATCHER_MQTT__CREDENTIALS_KEY_FILE": str(tmp_path / "mqtt.key"),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "dispatcher.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_user_add_reads_the_password_from_stdin_and_updates(tmp_path: Path) -> None:
    first = dispatcher(tmp_path, "user", "add", "op1", "--role", "operator", stdin="a-long-pw\n")
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout
    again = dispatcher(tmp_path, "user", "add", "op1", "--role", "admin", "--password", "x" * 9)
    assert again.returncode == 0, again.stderr
    assert "updated with role admin" in again.stdout
    short = dispatcher(tmp_path, "user", "add", "op2", "--role", "operator", stdin="short\n")
    assert short.returncode == 2
    assert "at least 8" in short.stderr


def test_load_is_idempotent_and_a_bad_file_writes_nothing(tmp_path: Path) -> None:
    loaded = dispatcher(tmp_path, "load", str(DEMO))
    assert loaded.returncode == 0, loaded.stderr
    assert "residents" in loaded.stdout
    again = dispatcher(tmp_path, "load", str(DEMO))
    assert again.returncode == 0
    assert "nothing changed" in again.stdout

    city = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    city["residents"][3]["contacts"][0]["phone"] = "12345"
    city["residents"].append({**city["residents"][0], "id": "r-new", "terminal": "T-NEW"})
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(city, allow_unicode=True), encoding="utf-8")
    refused = dispatcher(tmp_path, "load", str(bad))
    assert refused.returncode == 1
    assert "nothing was written" in refused.stderr
    assert "residents[3]" in refused.stderr
    # nothing of the bad file was written, not even its good new resident
    with contextlib.closing(sqlite3.connect(tmp_path / "d.db")) as db:
        assert db.execute("SELECT count(*) FROM residents WHERE id = 'r-new'").fetchone() == (0,)


def test_a_bad_config_names_the_key(tmp_path: Path) -> None:
    broken = tmp_path / "config.yaml"
    broken.write_text("heartbeat:\n  interval_s: soon\n", encoding="utf-8")
    result = dispatcher(tmp_path, "--config", str(broken), "migrate")
    assert result.returncode == 2
    assert "interval_s" in result.stderr


def test_terminal_credentials_and_broker_files(tmp_path: Path) -> None:
    assert dispatcher(tmp_path, "load", str(DEMO)).returncode == 0
    first = dispatcher(tmp_path, "terminal", "credentials", "T-0001", "T-0002")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["T-0001", "T-0002"]
    again = dispatcher(tmp_path, "terminal", "credentials", "T-0001")
    assert again.stdout == lines[0] + "\n"
    rotated = dispatcher(tmp_path, "terminal", "credentials", "T-0001", "--rotate")
    assert rotated.returncode == 0
    assert rotated.stdout.split()[0] == "T-0001"
    assert rotated.stdout != again.stdout
    unknown = dispatcher(tmp_path, "terminal", "credentials", "T-9999")
    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert "unknown terminal T-9999" in unknown.stderr

    files = tmp_path / "mosquitto"
    refused = dispatcher(tmp_path, "broker-files", str(files))
    assert refused.returncode == 1
    assert "DISPATCHER_MQTT__PASSWORD" in refused.stderr
    written = dispatcher(
        tmp_path, "broker-files", str(files), env={"DISPATCHER_MQTT__PASSWORD": "d-secret-1"}
    )
    assert written.returncode == 0, written.stderr
    assert "SIGHUP" in written.stdout
    users = [line.split(":")[0] for line in (files / "passwd").read_text().splitlines()]
    # the terminals' (internet-facing) listener: the dispatcher's account is not there
    assert "dispatcher" not in users
    assert len(users) == 50  # the 50 terminals of the demo city, each with an account now
    dispatcher_only = (files / "passwd-dispatcher").read_text().splitlines()
    assert [line.split(":")[0] for line in dispatcher_only] == ["dispatcher"]
    assert "user dispatcher" in (files / "acl").read_text().splitlines()


def test_an_operator_gets_a_phone_for_calls(tmp_path: Path) -> None:
    """`user add --phone`, then `user phone` changes or clears it; a bad number changes nothing."""

    def phone() -> str | None:
        with contextlib.closing(sqlite3.connect(tmp_path / "d.db")) as db:
            found: str | None = db.execute(
                "SELECT phone FROM users WHERE username = 'op1'"
            ).fetchone()[0]
            return found

    add = ("user", "add", "op1", "--role", "operator", "--password", "x" * 9)
    made = dispatcher(tmp_path, *add, "--phone", "+8613800000009")
    assert made.returncode == 0, made.stderr
    assert phone() == "+8613800000009"
    assert dispatcher(tmp_path, *add).returncode == 0  # no --phone: kept
    assert phone() == "+8613800000009"
    bad = dispatcher(tmp_path, "user", "phone", "op1", "13800000009")  # no country code
    assert bad.returncode == 2
    assert "E.164" in bad.stderr
    assert phone() == "+8613800000009"
    changed = dispatcher(tmp_path, "user", "phone", "op1", "+8613800000010")
    assert changed.returncode == 0, changed.stderr
    assert phone() == "+8613800000010"
    assert dispatcher(tmp_path, "user", "phone", "op1", "--clear").returncode == 0
    assert phone() is None
    nobody = dispatcher(tmp_path, "user", "phone", "op9", "+8613800000010")
    assert nobody.returncode == 2
    assert "no user 'op9'" in nobody.stderr


def test_user_list_disable_enable(tmp_path: Path) -> None:
    assert dispatcher(tmp_path, "user", "add", "op1", "--role", "operator", stdin="a-long-pw\n")
    assert dispatcher(tmp_path, "user", "disable", "op1").stdout.strip() == (
        "user op1 disabled, every session ended"
    )
    listed = dispatcher(tmp_path, "user", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].startswith("op1\toperator\tcity\tdisabled since ")
    assert dispatcher(tmp_path, "user", "enable", "op1").stdout.strip() == "user op1 enabled"
    assert "\tactive\t0\t" in dispatcher(tmp_path, "user", "list").stdout
    unknown = dispatcher(tmp_path, "user", "disable", "nobody")
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "dispatcher: no user nobody")


def test_credentials_of_every_terminal_at_once_into_a_file(tmp_path: Path) -> None:
    """Provisioning a city: one command, one transaction (10,000 terminals: ~8 s, on
    either database, against ~1.3 s a terminal one command at a time)."""
    assert dispatcher(tmp_path, "load", str(DEMO)).returncode == 0
    one = dispatcher(tmp_path, "terminal", "credentials", "T-0001")
    out = tmp_path / "creds" / "terminals.txt"
    out.parent.mkdir()
    every = dispatcher(tmp_path, "terminal", "credentials", "--all", "--out", str(out))
    assert every.returncode == 0, every.stderr
    assert every.stdout.strip() == f"wrote 50 terminals' credentials to {out} (mode 0600)"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 50
    assert lines[0] == one.stdout.strip()  # the same password as asked for alone
    assert sorted(lines) == lines
    assert list(out.parent.iterdir()) == [out]  # no temporary file left
    for wrong in ((), ("T-0001", "--all")):
        refused = dispatcher(tmp_path, "terminal", "credentials", *wrong)
        assert refused.returncode == 2
        assert "--all" in refused.stderr
