"""Mosquitto's password and ACL files, written so that a reload never reads half a file.

Each file is written beside the old one, flushed, then renamed over it: Mosquitto,
reloading on SIGHUP, reads either the old file or the new one. A file that exists keeps
its mode and, where we may, its owner (Mosquitto often runs as its own user).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

# the terminals' accounts: the terminals' (internet-facing) listener, where the
# dispatcher's account has no business: it reads every terminal
PASSWD = "passwd"  # noqa: S105 - a file name
# the dispatcher's account alone: the dispatchers' listener, where a client keeps the
# client id it chose, so no terminal may log in there (deploy/mosquitto.conf)
DISPATCHER_PASSWD = "passwd-dispatcher"  # noqa: S105 - a file name
ACL = "acl"


def passwd_text(entries: Iterable[tuple[str, str]]) -> str:
    """`username:hash` lines, Mosquitto's password_file format."""
    return "".join(f"{username}:{hashed}\n" for username, hashed in entries)


def write_all(directory: Path, *, passwords: Sequence[tuple[str, str]], acl: str) -> None:
    """The three files; `passwords` starts with the dispatcher's (username, hash)."""
    directory.mkdir(parents=True, exist_ok=True)
    write_atomically(directory / ACL, acl)
    write_atomically(directory / DISPATCHER_PASSWD, passwd_text(passwords[:1]))
    write_atomically(directory / PASSWD, passwd_text(passwords[1:]))


def write_atomically(path: Path, text: str) -> None:
    mode, owner = 0o640, None
    with contextlib.suppress(FileNotFoundError):
        old = path.stat()
        mode, owner = stat.S_IMODE(old.st_mode), (old.st_uid, old.st_gid)
    with temporary_beside(path, text, mode=mode, owner=owner) as temporary:
        os.replace(temporary, path)


@contextlib.contextmanager
def temporary_beside(
    path: Path,
    text: str,
    *,
    encoding: str = "utf-8",
    mode: int | None = None,
    owner: tuple[int, int] | None = None,
) -> Iterator[Path]:
    """A new file beside `path` holding `text`, on disk, for the caller to rename or link
    into place: only its owner may read it unless `mode` says otherwise; `owner` where
    we may. Whatever is left of it afterwards is removed."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding=encoding) as file:
            file.write(text)
            file.flush()
            if mode is not None:
                os.fchmod(file.fileno(), mode)
            if owner is not None:
                with contextlib.suppress(PermissionError):
                    os.fchown(file.fileno(), *owner)
            os.fsync(file.fileno())
        yield temporary
    finally:
        temporary.unlink(missing_ok=True)
