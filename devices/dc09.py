"""SIA DC-09 (ANSI/SIA DC-09-2013) over IP: framing, CRC, AES, ADM-CID and SIA DCS. Pure:
bytes and the time in, typed values and bytes out. Both sides: the receiver's (`parse`,
`open_message`, `answer`) and the terminal's (`message`, `read_answer`), used by the
simulator.

A frame is `LF crc(4 hex) 0LLL(length, hex) "id"seq Rrcvr Lpref #acct [data]...[x]_ts CR`:
the CRC (CRC-16/ARC) and the length cover from the first `"` to before the CR. An
encrypted message (`"*SIA-DCS"`, `"*ADM-CID"`, `"*NULL"`) sends, after the `[`, the hex of
`pad|data]...[x]_ts` enciphered with AES-CBC and a zero IV, the pad making whole blocks.

Chosen where the standard leaves room (or where other implementations differ):
- The length field is hexadecimal, as the standard writes it. (pysiaalarm 3.2.2 compares
  it as decimal; a message of 0x4A bytes it then reads wrongly.) A length that does not
  match is answered NAK, like a bad CRC: the frame was damaged on the way.
- The data's event is what follows its last `|` (the account block `#acct|`, or in an
  encrypted message the pad and `|`, come before).
- Timestamps are UTC (`_HH:MM:SS,MM-DD-YYYY`). An encrypted message must carry one; a
  plain one may leave it out, and then is not checked.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from devices.contact_id import MISSED_CHECKIN, Code, Qualifier
from devices.events import EventType, TerminalEvent, TerminalReport

LF, CR = b"\n", b"\r"
# the longest frame accepted: the standard's messages are a few hundred bytes; past this
# in a TCP stream without a CR, the stream is garbage and the connection is closed
MAX_FRAME = 1024
_IV = bytes(16)
_PAD_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # never `|`, `[` or `]`

_HEADER = re.compile(
    r'"(?P<star>\*)?(?P<id>[A-Z][A-Z-]{2,7})"(?P<seq>\d{4})'
    r"(?:R(?P<rcvr>[0-9A-Fa-f]{1,6}))?L(?P<pref>[0-9A-Fa-f]{1,6})"
    r"(?:#(?P<acct>[0-9A-Fa-f]{3,16}))?\[(?P<body>.*)",
    re.DOTALL,
)
_TIMESTAMP = re.compile(r"_(\d{2}):(\d{2}):(\d{2}),(\d{2})-(\d{2})-(\d{4})$")
_CID = re.compile(
    r"(?P<q>[136])(?P<code>\d{3}) ?(?P<group>[0-9A-Fa-f]{2}) ?(?P<zone>[0-9A-Fa-f]{3})"
)
# SIA DCS fields before an event code: time, area (ri), user (id), peripheral (pi)
_SIA_FIELDS = re.compile(r"ti\d{1,2}:\d{2}|(?:ri|id|pi)\d*")
_SIA = re.compile(r"(?P<code>[A-Z]{2})(?P<zone>\d{0,4})")
_EVENT_IDS = frozenset({"SIA-DCS", "ADM-CID", "NULL"})


class Answer(StrEnum):
    ACK = "ACK"
    NAK = "NAK"  # damaged (CRC, length) or out of time: the terminal sends it again
    DUH = "DUH"  # not understood (unknown account, wrong key, refused): no use repeating


class Dc09Error(ValueError):
    """A message that cannot be accepted; `answer` is what to send back (None: nothing
    can be answered, e.g. no frame at all). `frame` is set once the header was read."""

    def __init__(self, reason: str, answer: Answer | None, frame: Frame | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.answer = answer
        self.frame = frame


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame whose CRC and length are right: its header read, its body as sent."""

    id: str  # SIA-DCS, ADM-CID, NULL (or ACK, NAK, DUH in an answer)
    encrypted: bool
    seq: str
    receiver: str | None
    line: str
    account: str | None
    body: str  # after the first `[`: data (and xdata, timestamp), or the ciphertext's hex


@dataclass(frozen=True, slots=True)
class Message:
    """An opened (decrypted, checked) message of a terminal."""

    frame: Frame
    data: str  # inside the first brackets
    timestamp: datetime | None
    codes: tuple[Code, ...] = field(default=())

    @property
    def is_null(self) -> bool:
        return self.frame.id == "NULL"


def crc16(data: bytes) -> int:
    """CRC-16/ARC (reflected 0x8005, init 0), as DC-09 uses."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def frame_bytes(message: str) -> bytes:
    """Wrap a message (from its first `"`) with LF, CRC, length and CR."""
    body = message.encode("ascii")
    return b"%b%04X%04X%b%b" % (LF, crc16(body), len(body), body, CR)


def split_stream(buffer: bytes) -> tuple[list[bytes], bytes, int]:
    """The whole frames (LF ... CR) at the front of a TCP stream's buffer, the rest kept
    for more bytes, and how many bytes of garbage were skipped (before a LF)."""
    frames: list[bytes] = []
    skipped = 0
    while True:
        start = buffer.find(LF)
        if start < 0:
            return frames, b"", skipped + len(buffer)
        skipped += start
        end = buffer.find(CR, start)
        if end < 0:
            return frames, buffer[start:], skipped
        frames.append(buffer[start : end + 1])
        buffer = buffer[end + 1 :]


def parse(raw: bytes) -> Frame:
    """Check the framing, CRC and length of one frame; read its header."""
    if raw.startswith(LF):
        raw = raw[1:]
    if raw.endswith(CR):
        raw = raw[:-1]
    if len(raw) < 9 or len(raw) > MAX_FRAME:
        raise Dc09Error("not a DC-09 frame", Answer.NAK if raw[:1].isalnum() else None)
    try:
        sent_crc, sent_len = int(raw[:4], 16), int(raw[4:8], 16)
        text = raw[8:].decode("ascii")
    except (ValueError, UnicodeDecodeError):
        raise Dc09Error("not a DC-09 frame (CRC, length or characters)", Answer.NAK) from None
    body = raw[8:]
    if crc16(body) != sent_crc:
        raise Dc09Error("bad CRC", Answer.NAK)
    if len(body) != sent_len:
        raise Dc09Error(f"wrong length: {sent_len} stated, {len(body)} sent", Answer.NAK)
    m = _HEADER.fullmatch(text)
    if m is None:
        raise Dc09Error("not a DC-09 message", Answer.DUH)
    return Frame(
        id=m["id"],
        encrypted=bool(m["star"]),
        seq=m["seq"],
        receiver=m["rcvr"],
        line=m["pref"],
        account=m["acct"].upper() if m["acct"] else None,
        body=m["body"],
    )


def _cipher(key: bytes) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key), modes.CBC(_IV))


def decrypt(key: bytes, hex_text: str) -> str:
    """Raises ValueError for what is no ciphertext or does not decrypt to ASCII."""
    blob = bytes.fromhex(hex_text)
    if not blob or len(blob) % 16:
        raise ValueError("not whole AES blocks")
    decryptor = _cipher(key).decryptor()
    return (decryptor.update(blob) + decryptor.finalize()).decode("ascii")


def encrypt(key: bytes, text: str, pad: str | None = None) -> str:
    """`pad|text` in whole blocks, enciphered, as hex; a random pad unless given."""
    size = -(len(text) + 1) % 16
    if pad is None:
        pad = "".join(secrets.choice(_PAD_CHARS) for _ in range(size))
    plain = f"{pad[:size]:0<{size}}|{text}".encode("ascii")
    encryptor = _cipher(key).encryptor()
    return (encryptor.update(plain) + encryptor.finalize()).hex().upper()


def format_timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("_%H:%M:%S,%m-%d-%Y")


def _timestamp(text: str) -> tuple[str, datetime | None]:
    m = _TIMESTAMP.search(text)
    if m is None:
        return text, None
    hh, mi, ss, mo, dd, yyyy = (int(g) for g in m.groups())
    try:
        at = datetime(yyyy, mo, dd, hh, mi, ss, tzinfo=UTC)
    except ValueError:
        return text, None
    return text[: m.start()], at


def open_message(
    frame: Frame,
    key: bytes | None,
    *,
    now: datetime,
    max_age: timedelta,
    max_ahead: timedelta,
) -> Message:
    """Decrypt (with the account's key), read the data and check the timestamp.

    An account with a key takes only encrypted messages; a message must be encrypted
    with that key. `max_age`/`max_ahead`: how far the terminal's time may be behind or
    ahead of ours."""
    if frame.id not in _EVENT_IDS:
        raise Dc09Error(f"message type {frame.id} not supported", Answer.DUH, frame)
    body = frame.body
    if frame.encrypted:
        if key is None:
            raise Dc09Error("encrypted, but the account has no key", Answer.DUH, frame)
        try:
            body = decrypt(key, body)
        except ValueError:
            raise Dc09Error("does not decrypt with the account's key", Answer.DUH, frame) from None
        if "|" not in body or "]" not in body:
            raise Dc09Error("does not decrypt with the account's key", Answer.DUH, frame)
    elif key is not None:
        raise Dc09Error("not encrypted, but the account has a key", Answer.DUH, frame)
    rest, at = _timestamp(body)
    if at is None and frame.encrypted:
        raise Dc09Error("encrypted message without a timestamp", Answer.NAK, frame)
    if at is not None and not (now - max_age <= at <= now + max_ahead):
        raise Dc09Error(f"timestamp {at.isoformat()} out of the window", Answer.NAK, frame)
    if "]" not in rest:
        raise Dc09Error("no end of data", Answer.DUH, frame)
    data = rest[: rest.index("]")]
    event = (
        data.rsplit("|", 1)[-1] if "|" in data else data.removeprefix("#" + (frame.account or ""))
    )
    codes: tuple[Code, ...] = ()
    if frame.id == "ADM-CID":
        m = _CID.fullmatch(event.strip())
        if m is None:
            raise Dc09Error(f"not a Contact ID event: {event!r}", Answer.DUH, frame)
        codes = (Code("cid", m["code"], Qualifier(m["q"]), m["zone"]),)
    elif frame.id == "SIA-DCS":
        # after the N (new event), fields and codes, `/` between them or not
        # (`Nri1/BA501`, `Nri1CL0^text^`); a code's number is its zone or user
        parts = _SIA_FIELDS.sub("/", event.removeprefix("N")).split("/")
        codes = tuple(
            Code("sia", m["code"], zone=m["zone"])
            for part in parts
            if (m := _SIA.match(part.strip()))
        )
        if not codes:
            raise Dc09Error(f"no SIA event code in {event!r}", Answer.DUH, frame)
    return Message(frame, data, at, codes)


def answer(kind: Answer, frame: Frame | None, key: bytes | None, *, now: datetime) -> bytes:
    """The receiver's answer. ACK and DUH echo the message's sequence, receiver, line and
    account (ACK enciphered when the message was); NAK carries our time, so that the
    terminal can set its clock."""
    rcvr = f"R{frame.receiver}" if frame is not None and frame.receiver else "R0"
    line = f"L{frame.line}" if frame is not None else "L0"
    if kind is Answer.NAK or frame is None:
        return frame_bytes(f'"NAK"0000{rcvr}{line}A0[]{format_timestamp(now)}')
    acct = f"#{frame.account}" if frame.account else ""
    head = f'"{kind}"{frame.seq}{rcvr}{line}{acct}['
    if kind is Answer.ACK and frame.encrypted and key is not None:
        return frame_bytes(
            f'"*{kind}"{frame.seq}{rcvr}{line}{acct}[' + encrypt(key, f"]{format_timestamp(now)}")
        )
    return frame_bytes(head + "]")


def message(
    kind: str,
    seq: int,
    account: str,
    data: str,
    *,
    key: bytes | None,
    now: datetime | None,
    receiver: str = "0",
    line: str = "0",
) -> bytes:
    """A terminal's message: `kind` SIA-DCS, ADM-CID or NULL; `data` inside the brackets
    after `#acct|` (e.g. `1100 01 001` or `Nri1/MA501`, empty for NULL). With a key it is
    encrypted and must have a time (`now`)."""
    ts = format_timestamp(now) if now is not None else ""
    head = f"{seq:04d}R{receiver}L{line}#{account}["
    if key is not None:
        if now is None:
            raise ValueError("an encrypted message needs a timestamp")
        return frame_bytes(f'"*{kind}"{head}' + encrypt(key, f"{data}]{ts}"))
    block = f"#{account}|{data}" if data else ""
    return frame_bytes(f'"{kind}"{head}{block}]{ts}')


def read_answer(raw: bytes, key: bytes | None) -> tuple[Answer, str, datetime | None]:
    """The terminal's side: which answer, to which sequence number, and the receiver's
    time when it sent one. Raises Dc09Error for what is not a good answer."""
    frame = parse(raw)
    if frame.id not in {a.value for a in Answer}:
        raise Dc09Error(f"not an answer: {frame.id}", None, frame)
    body = frame.body
    if frame.encrypted:
        if key is None:
            raise Dc09Error("encrypted answer, no key", None, frame)
        body = decrypt(key, body)
    return Answer(frame.id), frame.seq, _timestamp(body)[1]


# -- what the messages mean: typed events ----------------------------------------------


def _event_id(msg: Message, index: int, now: datetime) -> str:
    """The same for a repeat (same account, sequence number and event), another for
    the next message with that sequence number once it wrapped (the date, the data)."""
    day = (msg.timestamp or now).strftime("%Y%m%d")
    # the events, not the data as sent: an encrypted repeat has another random pad
    crc = crc16("/".join(c.label for c in msg.codes).encode("ascii", "replace"))
    suffix = f"/{index}" if index else ""
    return f"dc09-{msg.frame.seq}-{day}-{crc:04X}{suffix}"


def _detail(code: Code) -> tuple[tuple[str, str], ...]:
    detail = [("protocol", "dc09"), ("code", code.label), (code.kind, code.code)]
    if code.qualifier is not None:
        detail.append(("qualifier", code.qualifier.value))
    if code.zone:
        detail.append(("zone", code.zone))
    return tuple(detail)


def events_of(device_id: str, msg: Message, now: datetime) -> list[TerminalEvent | TerminalReport]:
    """The events of one opened message of the terminal `device_id`, as the ingest
    path takes them: one per code, an event type of ours or a report."""
    ts = msg.timestamp or now
    out: list[TerminalEvent | TerminalReport] = []
    for index, code in enumerate(msg.codes):
        event_id = _event_id(msg, index, now)
        meaning = code.meaning
        if isinstance(meaning, EventType):
            out.append(
                TerminalEvent(
                    device_id,
                    event_id,
                    meaning,
                    ts,
                    detail=_detail(code),
                    automatic=code.automatic,
                )
            )
        else:
            out.append(
                TerminalReport(
                    device_id,
                    event_id,
                    ts,
                    detail=_detail(code),
                    missed_checkin=meaning == MISSED_CHECKIN,
                )
            )
    return out
