"""`dispatcher run | migrate | load | user add|list|disable|enable|phone | terminal
credentials | broker-files | report | templates | backup` (docs/configuration.md,
docs/daily-care.md, docs/protocol.md)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import signal
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from dispatcher import logs, loops, report_command
from dispatcher.broker_accounts import commands as mqtt_accounts
from dispatcher.clock import Clock, ScaledClock, SystemClock
from dispatcher.config import (
    ROLES,
    ProcessRole,
    Settings,
    load_settings,
    parse_roles,
    split_refused,
)
from dispatcher.startup import EX_CONFIG, ConfigurationError
from dispatcher.store.db import create_engine, migrate, session_factory
from dispatcher.users import accounts as users
from dispatcher.users import commands as user_command

log = logging.getLogger("dispatcher")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dispatcher", description=__doc__)
    parser.add_argument(
        "--config", type=Path, default=None, help="YAML config (default: ./config.yaml)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="migrate if needed, then serve everything (or --roles)")
    run.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    run.add_argument(
        "--roles",
        type=_roles,
        default=None,
        metavar="ROLE,...",
        help=f"serve only these of {','.join(ROLES)} (default: run.roles, all four); "
        "a share of them needs PostgreSQL and an external broker",
    )
    sub.add_parser("migrate", help="apply the database migrations")
    load = sub.add_parser("load", help="add or update the city data of a YAML file")
    load.add_argument("file", type=Path)
    user = sub.add_parser("user", help="dashboard users")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create or update a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in users.Role])
    add.add_argument("--password", help="without it: asked, or one line of standard input")
    add.add_argument("--phone", help="E.164, the phone the user's calls ring first (+86...)")
    add.add_argument(
        "--scope",
        help="the part of the city the user sees: district:NAME, street:NAME or community:ID, "
        "named as in the city file (without it: the whole city)",
    )
    phone = user_sub.add_parser(
        "phone", help="set the phone a user's calls from the alarm view ring first"
    )
    phone.add_argument("name")
    phone.add_argument("number", nargs="?", help="E.164, like +8613800000009")
    phone.add_argument("--clear", action="store_true", help="remove the user's phone")
    user_sub.add_parser("list", help="every user: role, scope, disabled or not, sessions open")
    for verb, what in (("disable", "log out and refuse"), ("enable", "allow again")):
        user_sub.add_parser(verb, help=f"{what} a user").add_argument("name")
    terminal = sub.add_parser("terminal", help="terminals' accounts on the MQTT broker")
    terminal_sub = terminal.add_subparsers(dest="terminal_command", required=True)
    creds = terminal_sub.add_parser(
        "credentials", help="print DEVICE_ID PASSWORD, made on first use, for provisioning"
    )
    creds.add_argument("device_ids", nargs="*", metavar="DEVICE_ID")
    creds.add_argument("--rotate", action="store_true", help="replace the password")
    creds.add_argument(
        "--all", dest="every", action="store_true", help="every terminal loaded (a city at once)"
    )
    creds.add_argument(
        "--out", type=Path, metavar="FILE", help="write the lines to FILE (mode 0600), not stdout"
    )
    files = sub.add_parser(
        "broker-files", help="write Mosquitto's password and ACL files of every account"
    )
    files.add_argument("directory", type=Path)
    report = sub.add_parser(
        "report", help="daily figures per community: answer and attendance times, daily care"
    )
    report.add_argument("--from", dest="first", type=date.fromisoformat, metavar="YYYY-MM-DD")
    report.add_argument("--to", dest="last", type=date.fromisoformat, metavar="YYYY-MM-DD")
    report.add_argument("--community", metavar="ID")
    report.add_argument("--format", choices=["csv", "json"], default="csv")
    templates = sub.add_parser(
        "templates", help="every message as a provider's template, for registration"
    )
    templates.add_argument("--provider", choices=["aliyun"], default="aliyun")
    templates.add_argument("--format", choices=["text", "json"], default="text")
    templates.add_argument(
        "--public-url",
        metavar="URL",
        help="the address responder links start with, written into the templates that end "
        "with one (default: notifications.public_url, else http.public_origin; empty: "
        "no such templates)",
    )
    backup = sub.add_parser(
        "backup", help="an online, consistent copy of the SQLite database (PostgreSQL: pg_dump)"
    )
    backup.add_argument("path", type=Path, help="the copy (replaced once whole)")
    return parser


def _roles(value: str) -> frozenset[ProcessRole]:
    try:
        return frozenset(parse_roles(value))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # amqtt logs every packet at INFO
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)
    # the Twilio SDK logs every request's headers at INFO
    logging.getLogger("twilio").setLevel(logging.WARNING)
    quiet = {"load", "user", "terminal", "broker-files", "report", "backup"}
    if args.command in quiet and not args.verbose:
        # their own output is the report; migration chatter would bury it
        logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command == "templates" and args.public_url is not None:
        return _templates(args.format, args.public_url)
    try:
        settings = load_settings(args.config)
    except (ValidationError, ValueError, OSError) as exc:
        print(f"dispatcher: bad configuration: {exc}", file=sys.stderr)
        # `run` under systemd: the status its units do not restart on
        return EX_CONFIG if args.command == "run" else 2
    if args.command == "templates":  # the catalog's, and the public address of the links
        link_base = settings.notifications.public_url or settings.http.public_origin
        return _templates(args.format, link_base)
    logs.configure(settings.log.format, "debug" if args.verbose else settings.log.level)
    if args.command == "run":
        # the command line wins over the file and the environment
        roles: frozenset[ProcessRole] = args.roles or settings.run.role_set
        refused = split_refused(settings, roles)
        if refused:
            print(f"dispatcher: {refused}", file=sys.stderr)
            return EX_CONFIG
        return asyncio.run(_run(settings, roles))
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "load":
        return asyncio.run(_load(settings, args.file))
    if args.command == "user" and args.user_command == "phone":
        if (args.number is None) == (not args.clear):
            print("dispatcher: give a phone number, or --clear", file=sys.stderr)
            return 2
        return asyncio.run(_user_phone(settings, args.name, None if args.clear else args.number))
    if args.command == "user" and args.user_command == "list":
        return asyncio.run(user_command.list_users(settings))
    if args.command == "user" and args.user_command in {"disable", "enable"}:
        disable = args.user_command == "disable"
        return asyncio.run(user_command.set_disabled(settings, args.name, disabled=disable))
    if args.command == "user":
        password = args.password if args.password is not None else _read_password()
        return asyncio.run(
            user_command.add_user(
                settings,
                args.name,
                users.Role(args.role),
                password,
                phone=args.phone,
                scope=args.scope,
            )
        )
    if args.command == "terminal":
        if bool(args.device_ids) == args.every:
            print("dispatcher: name terminals, or give --all (not both)", file=sys.stderr)
            return 2
        return asyncio.run(
            mqtt_accounts.print_credentials(
                settings, args.device_ids, rotate=args.rotate, every=args.every, out=args.out
            )
        )
    if args.command == "broker-files":
        return asyncio.run(mqtt_accounts.write_broker_files(settings, args.directory))
    if args.command == "backup":
        from dispatcher import backup_command  # noqa: PLC0415

        return backup_command.backup(settings, args.path)
    if args.command == "report":
        return asyncio.run(
            report_command.print_report(
                settings,
                first=args.first,
                last=args.last,
                community=args.community,
                fmt=args.format,
            )
        )
    return 2


def _templates(fmt: str, link_base: str) -> int:
    # imported for the command that needs it: the service's modules and Alibaba Cloud's
    # SDK take a second to import, at every command of an administrator
    from dispatcher.notify import aliyun_templates  # noqa: PLC0415

    if not link_base:
        print(
            "dispatcher: no public address (notifications.public_url): no responder links, "
            "so no templates that end with one",
            file=sys.stderr,
        )
    return aliyun_templates.print_templates(fmt, sys.stdout, link_base=link_base)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            print("dispatcher: the passwords differ", file=sys.stderr)
            raise SystemExit(2)
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def _run(settings: Settings, roles: frozenset[ProcessRole]) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    clock: Clock = SystemClock()
    if settings.clock.scaled:
        start = settings.clock.start or datetime.now(UTC)
        clock = ScaledClock(start, settings.clock.speed)
        log.warning(
            "demo clock: the service's time starts at %s and runs %gx: not for a city",
            start.isoformat(),
            settings.clock.speed,
        )
    try:
        from dispatcher.app import Service  # noqa: PLC0415

        service = Service(settings, clock=clock, roles=roles)
    except (ArgumentError, NoSuchModuleError) as exc:
        return _configuration_error(f"database.url: {exc}")
    except (ValueError, OSError) as exc:
        return _configuration_error(exc)
    try:
        async with service:
            _settle_garbage_collector()
            log.info("running %s; Ctrl-C to stop", ",".join(r for r in ROLES if r in roles))
            stopped = asyncio.ensure_future(stop.wait())
            failing = asyncio.ensure_future(service.failed.wait())
            await asyncio.wait({stopped, failing}, return_when=asyncio.FIRST_COMPLETED)
            for waiter in (stopped, failing):
                waiter.cancel()
            log.info("stopping")
    except ConfigurationError as exc:
        return _configuration_error(exc)
    if service.failure is not None:
        log.critical("stopped because %s failed; exiting for a clean start", service.failure)
        return loops.EX_SOFTWARE
    return 0


def _settle_garbage_collector() -> None:
    """Started: the ~200,000 objects of the libraries and the app live until the end, and
    each full collection walked them all, ~120 ms that held the event loop (every press
    waiting for its ack) several times a minute under load. Frozen, a full collection
    walks what the work makes: 3-10 ms (bench/README.md, "What held the event loop")."""
    gc.collect()  # the start's garbage is not kept forever
    gc.freeze()


def _configuration_error(exc: BaseException | str) -> int:
    """Said once, plainly, with the status the systemd units do not restart on."""
    print(f"dispatcher: configuration error, not restarting: {exc}", file=sys.stderr)
    return EX_CONFIG


async def _migrate(settings: Settings) -> int:
    engine = create_engine(settings.database.url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    print("database is at the latest revision")
    return 0


async def _load(settings: Settings, file: Path) -> int:
    from dispatcher.city_file.load import load_file  # noqa: PLC0415
    from dispatcher.city_file.rows import CityDataError  # noqa: PLC0415

    engine = create_engine(settings.database.url)
    try:
        await migrate(engine)
        report = await load_file(file, session_factory(engine))
    except CityDataError as exc:
        print(f"dispatcher: {file}: nothing was written; fix these rows:", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"dispatcher: cannot read {file}: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(report)
    return 0


async def _user_phone(settings: Settings, name: str, phone: str | None) -> int:
    engine = create_engine(settings.database.url)
    try:
        await migrate(engine)
        async with session_factory(engine).begin() as session:
            await users.set_phone(session=session, username=name, phone=phone)
    except ValueError as exc:
        print(f"dispatcher: {exc}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    print(f"user {name}: {'phone ' + users.check_phone(phone) if phone else 'no phone'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
