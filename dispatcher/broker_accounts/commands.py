"""`dispatcher terminal credentials` and `dispatcher broker-files` (docs/protocol.md)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.broker_accounts import files as broker_files
from dispatcher.broker_accounts import secret_key, store
from dispatcher.broker_accounts.passwords import (
    DISPATCHER_ITERATIONS,
    derive_password,
    mosquitto_hash,
    verify,
)
from dispatcher.broker_accounts.store import Account
from dispatcher.broker_accounts.topics import mosquitto_acl
from dispatcher.clock import SystemClock
from dispatcher.config import MqttConfig, Settings
from dispatcher.store.db import create_engine, migrate, session_factory


class AccountsError(Exception):
    """A refusal, said to the administrator as it is."""


async def credentials(
    *,
    session: AsyncSession,
    key: bytes,
    device_ids: Sequence[str],
    rotate: bool,
    now: datetime,
) -> list[tuple[str, str]]:
    """(device_id, password) of each terminal, its account made on first use;
    `rotate` moves each to a new password."""
    wanted = list(dict.fromkeys(device_ids))
    known = set(await store.terminal_ids(session=session, among=wanted))
    unknown = [device_id for device_id in wanted if device_id not in known]
    if unknown:
        shown = ", ".join(unknown[:10]) + (", ..." if len(unknown) > 10 else "")
        raise AccountsError(f"unknown terminal {shown}: load it first (dispatcher load)")
    stored = await store.accounts(session=session, device_ids=wanted)
    changed: list[Account] = []
    printed: list[tuple[str, str]] = []
    for device_id in wanted:
        account = stored.get(device_id)
        if account is None or rotate:
            generation = account.generation + 1 if account is not None else 1
            password = derive_password(key, device_id, generation)
            changed.append(Account(device_id, generation, mosquitto_hash(password)))
        else:
            password = derive_password(key, device_id, account.generation)
            if not verify(password, account.password_hash):
                raise AccountsError(
                    f"{device_id}: its stored password was not made with this key "
                    "(mqtt.credentials_key_file); --rotate gives it a new one"
                )
        printed.append((device_id, password))
    await store.save(session=session, accounts=changed, now=now)
    return printed


async def broker_passwords(
    *, session: AsyncSession, key: bytes, mqtt: MqttConfig, now: datetime
) -> list[tuple[str, str]]:
    """(username, hash) of the dispatcher, then of every terminal, sorted; a terminal
    without an account gets one."""
    if not mqtt.password:
        raise AccountsError(
            "mqtt.password is not set: the dispatcher's own account needs one "
            "(DISPATCHER_MQTT__PASSWORD)"
        )
    ids = await store.terminal_ids(session=session)
    if mqtt.username in ids:
        raise AccountsError(
            f"terminal {mqtt.username!r} has the dispatcher's username (mqtt.username); "
            "change mqtt.username"
        )
    stored = await store.accounts(session=session)
    new = [
        Account(device_id, 1, mosquitto_hash(derive_password(key, device_id, 1)))
        for device_id in ids
        if device_id not in stored
    ]
    await store.save(session=session, accounts=new, now=now)
    stored.update((account.device_id, account) for account in new)
    dispatcher = (mqtt.username, mosquitto_hash(mqtt.password, iterations=DISPATCHER_ITERATIONS))
    return [dispatcher, *((device_id, stored[device_id].password_hash) for device_id in ids)]


# ---- the commands as `dispatcher` runs them ---------------------------------------------


async def print_credentials(
    settings: Settings,
    device_ids: Sequence[str],
    *,
    rotate: bool,
    every: bool = False,
    out: Path | None = None,
) -> int:
    """`DEVICE_ID PASSWORD` lines of the terminals named, or of every known one (`every`,
    for provisioning a city in one go: one transaction, the hashes cheap), printed or
    written to `out` (made readable by its owner alone, whole or not at all)."""
    engine = create_engine(settings.database.url)
    try:
        key = secret_key.load_or_create(Path(settings.mqtt.credentials_key_file))
        await migrate(engine)
        async with session_factory(engine).begin() as session:
            wanted = await store.terminal_ids(session=session) if every else device_ids
            printed = await credentials(
                session=session,
                key=key,
                device_ids=wanted,
                rotate=rotate,
                now=SystemClock().now(),
            )
            lines = "".join(f"{device_id} {password}\n" for device_id, password in printed)
            if out is not None:
                # before the commit: a file that cannot be written leaves no rotation behind
                write_secret(out, lines)
    except (AccountsError, ValueError, OSError) as exc:
        print(f"dispatcher: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    if out is None:
        sys.stdout.write(lines)
    else:
        print(f"wrote {len(printed)} terminals' credentials to {out} (mode 0600)")
    return 0


def write_secret(path: Path, text: str) -> None:
    """`text` in a new file at `path` (replacing one there) that only its owner reads."""
    with broker_files.temporary_beside(path, text) as temporary:
        os.replace(temporary, path)


async def write_broker_files(settings: Settings, directory: Path) -> int:
    engine = create_engine(settings.database.url)
    try:
        key = secret_key.load_or_create(Path(settings.mqtt.credentials_key_file))
        acl = mosquitto_acl(
            prefix=settings.mqtt.topic_prefix, dispatcher_username=settings.mqtt.username
        )
        await migrate(engine)
        async with session_factory(engine).begin() as session:
            entries = await broker_passwords(
                session=session, key=key, mqtt=settings.mqtt, now=SystemClock().now()
            )
        # written once the accounts are committed: the files never hold one the database lacks
        broker_files.write_all(directory, passwords=entries, acl=acl)
    except (AccountsError, ValueError, OSError) as exc:
        print(f"dispatcher: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(
        f"wrote {directory / broker_files.PASSWD} ({len(entries) - 1} terminals), "
        f"{directory / broker_files.DISPATCHER_PASSWD} ({settings.mqtt.username}) and "
        f"{directory / broker_files.ACL}; now send Mosquitto SIGHUP to load them"
    )
    return 0
