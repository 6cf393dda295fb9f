"""The DC-09 codec against real frames: ours, pysiaalarm's (an independent implementation:
its published test frames and the answers it writes, checked in as bytes), both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pysiaalarm.account import SIAAccount
from pysiaalarm.event import SIAEvent

from devices import dc09
from devices.contact_id import CID_CODES, MISSED_CHECKIN, SIA_CODES, Qualifier
from devices.events import EventType, TerminalEvent, TerminalReport
from dispatcher import catalog

NOW = datetime(2026, 12, 7, 4, 0, 0, tzinfo=UTC)
KEY = b"AAAAAAAAAAAAAAAA"  # pysiaalarm's test key: 16 ASCII characters, AES-128
WINDOW = {"max_age": timedelta(seconds=40), "max_ahead": timedelta(seconds=20)}

# pysiaalarm 3.2.2, tests/test_sia_package_cases.py (case_adm_cid2): its CRC is right,
# its length "0047" is 47 written in decimal (the message has 0x2F bytes)
PYSIA_ADM_DECIMAL_LENGTH = b'\n57150047"ADM-CID"0247R4F39L4F39#4F39[#4F39|3401 01 057]\r'
# case_encrypted_adm: CRC and length right, enciphered with a key its tests do not give
PYSIA_ENCRYPTED_ADM = (
    b'\nD0850078"*ADM-CID"6879R0L0#123F[64F7ADD9BA9377DBF2C014BC709329BEEE345B5F20C60B7E'
    b"B9D2C6B8C222666B13D0B4A114B448B0AC555FCC658DB6EE\r"
)
# case_adm_cid: a CRC that is not the message's
PYSIA_BAD_CRC = (
    b'\n87CD0037"ADM-CID"9876R579BDFL789ABC#12345A[#12345A|1110 00 129]_14:12:04,09-25-2011\r'
)
# pysiaalarm's SIAEvent.create_response to our encrypted ADM-CID 1100 of sequence 0042
# (account 1111, its key), and to a plain SIA DCS of sequence 0043
PYSIA_ENCRYPTED_ACK = (
    b'\nB6C20054"*ACK"0042R0L0#1111[4143B34889E3C7138B6A2D2EABB529EA167383BB90748860EF'
    b"7389E9FF5EFBB5\r"
)
PYSIA_PLAIN_ACK = b'\n21450014"ACK"0043R0L0#1111[]\r'


def opened(raw: bytes, key: bytes | None = None, now: datetime = NOW) -> dc09.Message:
    return dc09.open_message(dc09.parse(raw), key, now=now, **WINDOW)


def refused(raw: bytes, key: bytes | None = None, now: datetime = NOW) -> dc09.Dc09Error:
    with pytest.raises(dc09.Dc09Error) as caught:
        opened(raw, key, now)
    return caught.value


def test_crc16_is_the_arc_crc_of_the_standard() -> None:
    assert dc09.crc16(b"123456789") == 0xBB3D  # CRC-16/ARC check value


@pytest.mark.parametrize("key", [None, KEY, bytes(range(24)), bytes(range(32))])
def test_adm_cid_sos_round_trip_plain_and_aes(key: bytes | None) -> None:
    raw = dc09.message("ADM-CID", 7, "1A2B", "1100 01 001", key=key, now=NOW)
    msg = opened(raw, key)
    assert msg.frame.encrypted is (key is not None)
    assert (msg.frame.seq, msg.frame.account, msg.timestamp) == ("0007", "1A2B", NOW)
    (code,) = msg.codes
    assert (code.code, code.qualifier, code.zone) == ("100", Qualifier.NEW, "001")
    assert code.meaning is EventType.SOS
    assert code.label == "CID 1100 z001"
    assert not code.automatic


def test_a_length_with_a_hex_letter_is_read_as_hex() -> None:
    # 0x4A = 74 bytes: read as decimal (pysiaalarm 3.2.2) it would not match
    data = "1100 01 001"
    raw = dc09.message("ADM-CID", 1, "123", data + " " * 0, key=None, now=NOW)
    # pad the account until the message is 0x4A..0x4F long
    account = "123"
    while not (0x4A <= len(raw) - 10 <= 0x4F):
        account += "1"
        raw = dc09.message("ADM-CID", 1, account, data, key=None, now=NOW)
    assert any(c in b"ABCDEF" for c in raw[5:9])
    assert opened(raw).codes[0].code == "100"


def test_sia_dcs_and_null() -> None:
    msg = opened(dc09.message("SIA-DCS", 3, "ABC", "Nri1/MA501", key=None, now=NOW))
    (code,) = msg.codes
    assert (code.kind, code.code, code.zone, code.meaning) == ("sia", "MA", "501", EventType.SOS)
    null = opened(dc09.message("NULL", 4, "ABC", "", key=KEY, now=NOW), KEY)
    assert null.is_null
    assert null.codes == ()


@pytest.mark.parametrize(
    ("data", "meaning"),
    [
        ("1101 01 001", EventType.SOS),
        ("1121 01 001", EventType.SOS),
        ("1102 01 000", MISSED_CHECKIN),
        ("1301 00 000", EventType.POWER_LOST),
        ("3301 00 000", EventType.POWER_RESTORED),
        ("1302 00 000", EventType.LOW_BATTERY),
        ("1384 00 005", EventType.LOW_BATTERY),
        ("1383 00 005", EventType.TAMPER),
        ("1144 00 005", EventType.TAMPER),
        ("1602 00 000", EventType.TEST),
        ("1406 01 001", EventType.CANCEL),
        ("1110 01 003", None),  # fire: stored and shown, raises nothing
        ("3100 01 001", None),  # a restore of a medical alarm raises nothing
    ],
)
def test_contact_id_codes_map_as_design_11_says(data: str, meaning: object) -> None:
    msg = opened(dc09.message("ADM-CID", 1, "1234", data, key=None, now=NOW))
    assert msg.codes[0].meaning == meaning


def test_what_is_refused_and_how_it_is_answered() -> None:
    good = dc09.message("ADM-CID", 9, "1234", "1100 01 001", key=KEY, now=NOW)
    # bad CRC: NAK
    damaged = good[:40] + (b"0" if good[40:41] != b"0" else b"1") + good[41:]
    with pytest.raises(dc09.Dc09Error) as caught:
        dc09.parse(damaged)
    assert caught.value.answer is dc09.Answer.NAK
    # wrong length, CRC right
    body = good[9:-1]
    wrong = b"\n%04X%04X%b\r" % (dc09.crc16(body), len(body) + 1, body)
    with pytest.raises(dc09.Dc09Error, match="wrong length"):
        dc09.parse(wrong)
    # garbage
    with pytest.raises(dc09.Dc09Error):
        dc09.parse(b"\x16\x03\x01 hello")
    # wrong key, plain from a keyed account, encrypted for an account without one: DUH
    assert refused(good, bytes(16)).answer is dc09.Answer.DUH
    plain = dc09.message("ADM-CID", 9, "1234", "1100 01 001", key=None, now=NOW)
    assert refused(plain, KEY).answer is dc09.Answer.DUH
    assert refused(good, None).answer is dc09.Answer.DUH
    # old or early timestamps: NAK
    assert refused(good, KEY, NOW + timedelta(seconds=41)).answer is dc09.Answer.NAK
    assert refused(good, KEY, NOW - timedelta(seconds=21)).answer is dc09.Answer.NAK
    assert opened(good, KEY, NOW + timedelta(seconds=39)).codes
    # an encrypted message without a timestamp: NAK
    sealed = dc09.encrypt(KEY, "1100 01 001]")
    no_time = dc09.frame_bytes(f'"*ADM-CID"0009R0L0#1234[{sealed}')
    assert refused(no_time, KEY).answer is dc09.Answer.NAK


def test_answers_echo_the_message_and_nak_carries_our_time() -> None:
    frame = dc09.parse(dc09.message("ADM-CID", 12, "1234", "1100 01 001", key=KEY, now=NOW))
    ack = dc09.answer(dc09.Answer.ACK, frame, KEY, now=NOW)
    assert dc09.read_answer(ack, KEY) == (dc09.Answer.ACK, "0012", NOW)
    duh = dc09.answer(dc09.Answer.DUH, frame, KEY, now=NOW)
    assert dc09.read_answer(duh, KEY)[:2] == (dc09.Answer.DUH, "0012")
    nak = dc09.answer(dc09.Answer.NAK, None, None, now=NOW)
    assert dc09.read_answer(nak, None) == (dc09.Answer.NAK, "0000", NOW)


def test_split_stream_keeps_a_cut_frame_and_skips_garbage() -> None:
    one = dc09.message("NULL", 1, "1234", "", key=None, now=NOW)
    two = dc09.message("NULL", 2, "1234", "", key=None, now=NOW)
    frames, rest, skipped = dc09.split_stream(b"junk" + one + two[:10])
    assert (frames, rest, skipped) == ([one], two[:10], 4)
    frames, rest, skipped = dc09.split_stream(rest + two[10:])
    assert (frames, rest, skipped) == ([two], b"", 0)


# -- pysiaalarm, an independent implementation -----------------------------------------


def test_pysiaalarm_published_frames_get_the_answers_dc09_gives() -> None:
    with pytest.raises(dc09.Dc09Error, match="wrong length: 71 stated, 47 sent") as caught:
        dc09.parse(PYSIA_ADM_DECIMAL_LENGTH)
    assert caught.value.answer is dc09.Answer.NAK
    with pytest.raises(dc09.Dc09Error, match="bad CRC"):
        dc09.parse(PYSIA_BAD_CRC)
    frame = dc09.parse(PYSIA_ENCRYPTED_ADM)  # framing, CRC and length right
    assert (frame.id, frame.encrypted, frame.seq, frame.account) == (
        "ADM-CID",
        True,
        "6879",
        "123F",
    )
    # its key is not published: with ours, it does not decrypt: not understood
    assert refused(PYSIA_ENCRYPTED_ADM, KEY).answer is dc09.Answer.DUH


def test_answers_written_by_pysiaalarm_are_read_by_our_terminal() -> None:
    assert dc09.read_answer(PYSIA_ENCRYPTED_ACK, KEY)[:2] == (dc09.Answer.ACK, "0042")
    assert dc09.read_answer(PYSIA_PLAIN_ACK, None) == (dc09.Answer.ACK, "0043", None)


@pytest.mark.parametrize("key", [None, KEY])
def test_pysiaalarm_reads_our_frames_as_we_do(key: bytes | None) -> None:
    raw = dc09.message("ADM-CID", 42, "1111", "1100 01 001", key=key, now=NOW)
    account = SIAAccount("1111", key.decode() if key else None, allowed_timeband=None)
    event = SIAEvent.from_line(raw[1:-1].decode(), {"1111": account})
    assert event.valid_message  # its CRC
    assert (event.event_qualifier, event.event_type, event.code) == ("1", "100", "MA")
    assert event.timestamp == NOW


def test_every_mapped_code_has_words_in_both_languages() -> None:
    for lang in catalog.LANGUAGES:
        words = catalog.strings(lang)
        assert all(f"cid.{c}" in words for c in CID_CODES), lang
        assert all(f"sia.{c}" in words for c in SIA_CODES), lang
        assert "protocol.dc09" in words


@pytest.mark.parametrize(
    ("data", "code", "zone"),
    [
        # the data of pysiaalarm's published SIA DCS cases (case_bug, case_bug2,
        # case_code_jc, case_op, case_wa, case_cl)
        ("Nri1CL0^VX FRONTE ^", "CL", "0"),
        ("Nri0KR1^TAST. 001 ^", "KR", "1"),
        ("Nri2/JC12", "JC", "12"),
        ("Nri04/OP001NM", "OP", "001"),
        ("Nri1/WA000", "WA", "000"),
        ("Nri1/CL501", "CL", "501"),
        ("Nti10:15/id3/ri1/PA501", "PA", "501"),
    ],
)
def test_sia_dcs_data_as_panels_write_it(data: str, code: str, zone: str) -> None:
    msg = opened(dc09.message("SIA-DCS", 1, "123456", data, key=None, now=NOW))
    assert (msg.codes[0].code, msg.codes[0].zone) == (code, zone)


def test_a_periodic_test_report_is_automatic_a_manual_test_is_not() -> None:
    auto = opened(dc09.message("ADM-CID", 1, "1234", "1602 00 000", key=None, now=NOW))
    assert auto.codes[0].automatic
    sia = opened(dc09.message("SIA-DCS", 2, "1234", "Nri1/RP000/RX000", key=None, now=NOW))
    assert [c.automatic for c in sia.codes] == [True, False]


def test_a_repeat_has_the_same_event_id_whatever_its_pad_and_time() -> None:
    def events(seq: int, data: str, at: datetime) -> list[object]:
        raw = dc09.message("ADM-CID", seq, "1234", data, key=KEY, now=at)
        return list(dc09.events_of("T-1", opened(raw, KEY, at), at))

    (first,) = events(7, "1100 01 001", NOW)
    (again,) = events(7, "1100 01 001", NOW + timedelta(seconds=30))  # new pad, new time
    assert isinstance(first, TerminalEvent)
    assert isinstance(again, TerminalEvent)
    assert first.event_id == again.event_id
    assert (first.type, first.ts, dict(first.detail)["code"]) == (
        EventType.SOS,
        NOW,
        "CID 1100 z001",
    )
    # the next message with that sequence number, once it wrapped, is another event
    (other,) = events(7, "1602 00 000", NOW)
    assert other.event_id != first.event_id  # type: ignore[attr-defined]
    (report,) = events(8, "1102 01 000", NOW)
    assert isinstance(report, TerminalReport)
    assert report.missed_checkin
