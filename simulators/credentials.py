"""Terminal passwords for the simulators, got as an installer gets them: from what
`dispatcher terminal credentials` prints, one `DEVICE_ID PASSWORD` a line (docs/protocol.md).

For the demo, where the service runs on this machine, the simulators run that public
command themselves (with this environment, so with the same database and key).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path


class CredentialsError(Exception):
    """The passwords could not be had."""


def parse(text: str) -> dict[str, str]:
    """`DEVICE_ID PASSWORD` lines (blank lines and `#` comments skipped) by device_id."""
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise CredentialsError(f"line {number}: expected DEVICE_ID PASSWORD")
        found[parts[0]] = parts[1]
    return found


def read_file(path: Path) -> dict[str, str]:
    try:
        return parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc}") from exc
    except CredentialsError as exc:
        raise CredentialsError(f"{path}: {exc}") from exc


def _dispatcher_command() -> str:
    # the `dispatcher` installed beside this Python (a venv run without activating it),
    # else the one on PATH
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("dispatcher", path=search)
    if found is None:
        raise CredentialsError("the `dispatcher` command is not installed here")
    return found


async def from_dispatcher(device_ids: Sequence[str]) -> dict[str, str]:
    """Run `dispatcher terminal credentials ID...` and read what it prints."""
    process = await asyncio.create_subprocess_exec(
        _dispatcher_command(),
        "terminal",
        "credentials",
        *device_ids,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        said = err.decode(errors="replace").strip().splitlines()
        raise CredentialsError(
            f"`dispatcher terminal credentials` failed: {said[-1] if said else process.returncode}"
        )
    found = parse(out.decode())
    missing = [device_id for device_id in device_ids if device_id not in found]
    if missing:
        raise CredentialsError(f"`dispatcher terminal credentials` printed none for {missing[0]}")
    return found
