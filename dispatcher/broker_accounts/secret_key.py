"""The secret from which terminal passwords are derived: a file, made on first use.

Whoever holds it and the database can print every terminal's password, so it is made
readable by its owner only; keep it out of backups of the database. Losing it means
issuing new passwords (`dispatcher terminal credentials --rotate`) for every terminal.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dispatcher.broker_accounts.files import temporary_beside

_KEY_BYTES = 32


def load_or_create(path: Path) -> bytes:
    """The key in `path`; made (atomically, mode 0600) when the file does not exist."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        text = _create(path)
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != _KEY_BYTES:
        raise ValueError(f"{path}: not a key of {_KEY_BYTES} bytes in hex")
    return key


def _create(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = secrets.token_hex(_KEY_BYTES) + "\n"
    with temporary_beside(path, text, encoding="ascii") as temporary:
        try:
            # a link never replaces an existing file: two first uses at once keep one key
            os.link(temporary, path)
        except FileExistsError:
            return path.read_text(encoding="ascii")
    return text
