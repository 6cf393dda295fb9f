"""A terminal of another maker: sends SIA DC-09 messages (ADM-CID, SIA DCS, NULL), plain
or AES-encrypted, over TCP or UDP, and sends each again until it is answered ACK (or
DUH: not understood, no use repeating), as such terminals do. A NAK is answered by
sending again with a fresh timestamp (the receiver's NAK carries its time: we take it,
as a panel sets its clock by it).

`python -m simulators.cli dc09 T-0100 --account 1A2B --key ... --port 7100 --code 100`
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

import yaml

from devices import dc09


@dataclass(slots=True)
class Sent:
    answer: dc09.Answer | None  # None: never answered within the attempts
    attempts: int
    answers: list[dc09.Answer] = field(default_factory=list)


class Dc09Terminal:
    """One terminal's connection. `clock` gives the terminal's own time (tests shift it)."""

    def __init__(
        self,
        account: str,
        key: bytes | None,
        host: str,
        port: int,
        *,
        udp: bool = False,
        retry_s: float = 2.0,
        attempts: int = 10,
        clock: Callable[[], datetime] | None = None,
        first_seq: int = 1,
    ) -> None:
        self.account = account.upper()
        self.key = key
        self._host, self._port, self._udp = host, port, udp
        self._retry_s = retry_s
        self._attempts = attempts
        self._clock = clock or (lambda: datetime.now(UTC))
        self._offset = timedelta()
        self.seq = first_seq - 1
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._udp_transport: asyncio.DatagramTransport | None = None
        self._datagrams: asyncio.Queue[bytes] = asyncio.Queue()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        self._writer = self._reader = None
        if self._udp_transport is not None:
            self._udp_transport.close()
            self._udp_transport = None

    def frame(self, kind: str, data: str, seq: int) -> bytes:
        now = self._clock() + self._offset
        # an encrypted message must carry its time; a plain one carries it too
        return dc09.message(kind, seq, self.account, data, key=self.key, now=now)

    async def send(self, kind: str, data: str = "") -> Sent:
        """A new message (the next sequence number), sent until answered."""
        self.seq = self.seq % 9999 + 1
        sent = Sent(None, 0)
        for attempt in range(1, self._attempts + 1):
            sent.attempts = attempt
            try:
                raw = await self._exchange(self.frame(kind, data, self.seq))
            except TimeoutError:
                await self.close()  # a new connection for the next attempt
                continue
            except (ConnectionError, OSError, asyncio.IncompleteReadError):
                await self.close()
                await asyncio.sleep(self._retry_s)  # refused at once: wait as for an answer
                continue
            try:
                answer, _, their_time = dc09.read_answer(raw, self.key)
            except (dc09.Dc09Error, ValueError):
                continue
            sent.answers.append(answer)
            if answer is dc09.Answer.NAK:
                if their_time is not None:
                    self._offset = their_time - self._clock()
                continue
            sent.answer = answer
            return sent
        return sent

    async def sos(self, code: str = "100", zone: str = "001") -> Sent:
        return await self.send("ADM-CID", f"1{code} 01 {zone}")

    async def _exchange(self, frame: bytes) -> bytes:
        async with asyncio.timeout(self._retry_s):
            if self._udp:
                return await self._exchange_udp(frame)
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
            reader, writer = self._reader, self._writer
            if reader is None:
                raise ConnectionError("not connected")
            writer.write(frame)
            await writer.drain()
            raw = await reader.readuntil(dc09.CR)
            if not raw:
                raise ConnectionError("closed")
            return raw

    async def _exchange_udp(self, frame: bytes) -> bytes:
        if self._udp_transport is None:
            loop = asyncio.get_running_loop()
            queue = self._datagrams

            class _Protocol(asyncio.DatagramProtocol):
                def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                    queue.put_nowait(data)

            self._udp_transport, _ = await loop.create_datagram_endpoint(
                _Protocol, remote_addr=(self._host, self._port)
            )
        self._udp_transport.sendto(frame)
        return await self._datagrams.get()


def key_of(text: str | None) -> bytes | None:
    return bytes.fromhex(text) if text else None


def from_city(path: str, device_id: str) -> tuple[str, str | None]:
    """The account and key of a DC-09 terminal in a city file."""
    with open(path, encoding="utf-8") as f:
        city = yaml.safe_load(f)
    for resident in city.get("residents") or []:
        terminal = resident.get("terminal")
        if isinstance(terminal, dict) and terminal.get("id") == device_id:
            return str(terminal["account"]), terminal.get("key")
    raise SystemExit(f"{device_id} is no DC-09 terminal in {path}")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("dc09", help="a SIA DC-09 terminal of another maker: one message")
    p.add_argument("device_id", help="the terminal's device_id, e.g. T-0100")
    p.add_argument("--account", help="its DC-09 account (hex); default: from --city")
    p.add_argument("--key", help="its AES key (hex), if it encrypts; default: from --city")
    p.add_argument("--city", help="a city file with the terminal's account and key")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7100, help="the receiver's dc09.port")
    p.add_argument("--udp", action="store_true", help="UDP instead of TCP")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--code", default="100", help="Contact ID event code (new event)")
    what.add_argument("--restore", metavar="CODE", help="a Contact ID restore, e.g. 301")
    what.add_argument("--sia", metavar="CODE", help="a SIA DCS code instead, e.g. MA")
    what.add_argument("--null", action="store_true", help="a NULL (supervision) message")
    p.add_argument("--zone", default="001")
    p.add_argument("--retry-s", type=float, default=2.0, help="wait for an answer, then repeat")
    p.add_argument("--attempts", type=int, default=10)


async def run(args: argparse.Namespace) -> int:
    account, key = args.account, args.key
    if account is None:
        if args.city is None:
            raise SystemExit("give --account (and --key) or --city FILE")
        account, key = from_city(args.city, args.device_id)
    async with Dc09Terminal(
        account,
        key_of(key),
        args.host,
        args.port,
        udp=args.udp,
        retry_s=args.retry_s,
        attempts=args.attempts,
    ) as terminal:
        if args.null:
            sent = await terminal.send("NULL")
        elif args.sia:
            sent = await terminal.send("SIA-DCS", f"Nri1/{args.sia}{args.zone}")
        elif args.restore:
            sent = await terminal.send("ADM-CID", f"3{args.restore} 01 {args.zone}")
        else:
            sent = await terminal.sos(args.code, args.zone)
    answer = sent.answer.value if sent.answer else "no answer"
    print(f"{answer} after {sent.attempts} attempt(s)")
    return 0 if sent.answer is dc09.Answer.ACK else 1
