"""Derived passwords, Mosquitto's `$7$` hashes, the key file and the atomic files."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from dispatcher.broker_accounts import files as broker_files
from dispatcher.broker_accounts import secret_key
from dispatcher.broker_accounts.passwords import derive_password, mosquitto_hash, verify

KEY = bytes(32)
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def test_a_password_depends_on_key_device_and_generation() -> None:
    base = derive_password(KEY, "T-0001", 1)
    assert derive_password(KEY, "T-0001", 1) == base
    others = {
        derive_password(KEY, "T-0002", 1),
        derive_password(KEY, "T-0001", 2),
        derive_password(bytes([1] * 32), "T-0001", 1),
    }
    assert base not in others
    assert len(others) == 3
    assert len(base) == 24
    assert base.replace("-", "").replace("_", "").isalnum()


def test_our_hash_is_mosquittos_format_and_checks() -> None:
    hashed = mosquitto_hash("s3cret", salt=b"0123456789ab")
    _, seven, iterations, salt, digest = hashed.split("$")
    assert (seven, iterations, salt) == ("7", "101", "MDEyMzQ1Njc4OWFi")
    assert len(digest) == 88  # 64 bytes of SHA-512, base64
    assert verify("s3cret", hashed)
    assert not verify("s3cret!", hashed)
    assert mosquitto_hash("s3cret") != mosquitto_hash("s3cret")  # a new salt each time


def test_we_check_the_hashes_mosquitto_passwd_writes(tmp_path: Path) -> None:
    file = tmp_path / "passwd"
    subprocess.run(
        [MOSQUITTO_PASSWD, "-c", "-b", str(file), "T-0001", "from-mosquitto"],
        check=True,
        capture_output=True,
    )
    hashed = file.read_text().strip().split(":", 1)[1]
    assert hashed.startswith("$7$")
    assert verify("from-mosquitto", hashed)
    assert not verify("from-mosquittO", hashed)


@pytest.mark.parametrize(
    "broken",
    ["", "plain", "$6$salt$hash", "$7$x$c2FsdA==$aGFzaA==", "$7$101$not base64!$aGFzaA==",
     "$7$0$c2FsdA==$aGFzaA==", "$7$101$c2FsdA==$aGFzaA==$extra"],
)  # fmt: skip
def test_anything_else_never_matches(broken: str) -> None:
    assert not verify("", broken)
    assert not verify("aGFzaA==", broken)


def test_the_key_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "mqtt.key"
    key = secret_key.load_or_create(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key.load_or_create(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["mqtt.key"]  # no temporary left
    path.write_text("not hex\n")
    with pytest.raises(ValueError, match="not a key of 32 bytes"):
        secret_key.load_or_create(path)


def test_files_are_replaced_whole_and_keep_their_mode(tmp_path: Path) -> None:
    target = tmp_path / "passwd"
    broker_files.write_atomically(target, "a:1\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    os.chmod(target, 0o600)
    old_inode = target.stat().st_ino
    broker_files.write_atomically(target, "a:1\nb:2\n")
    assert target.read_text() == "a:1\nb:2\n"
    assert target.stat().st_ino != old_inode  # a new file renamed over, not rewritten
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passwd"]
