"""The simulators read terminal passwords as `dispatcher terminal credentials` prints them."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators import credentials


def test_lines_of_device_id_and_password(tmp_path: Path) -> None:
    text = "# provisioning batch 7\nT-0001 abc\n\nT-0002  def \n"
    assert credentials.parse(text) == {"T-0001": "abc", "T-0002": "def"}
    file = tmp_path / "creds.txt"
    file.write_text(text)
    assert credentials.read_file(file) == {"T-0001": "abc", "T-0002": "def"}
    file.write_text("T-0001 abc\nT-0002\n")
    with pytest.raises(credentials.CredentialsError, match="line 2: expected DEVICE_ID PASSWORD"):
        credentials.read_file(file)
    with pytest.raises(credentials.CredentialsError, match="cannot read"):
        credentials.read_file(tmp_path / "absent.txt")


async def test_what_dispatcher_says_when_it_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPATCHER_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path}/d.db")
    monkeypatch.setenv("DISPATCHER_MQTT__CREDENTIALS_KEY_FILE", str(tmp_path / "mqtt.key"))
    with pytest.raises(credentials.CredentialsError, match="unknown terminal T-0001"):
        await credentials.from_dispatcher(["T-0001"])
