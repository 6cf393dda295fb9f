"""What the events of SIA DC-09 terminals mean to us: Contact ID (ADM-CID) and SIA DCS
codes -> the event types of protocol v1 (docs/protocol.md). Pure tables.

The words for each code (what the dashboard shows) are in the catalog
(`dispatcher/catalog.py`, keys `cid.NNN` and `sia.XX`); here only what a code does.
A code not mapped here is stored and shown, and raises nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from devices.events import EventType


class Qualifier(StrEnum):
    """The first digit of a Contact ID event."""

    NEW = "1"
    RESTORE = "3"
    PREVIOUS = "6"  # a status report of an event still going on


# the terminal says its resident missed their check-in (Contact ID 102, "fail to report
# in"): not an event type of protocol v1, the store opens a missed check-in for it
MISSED_CHECKIN = "missed_checkin"

# medical (100-109) and panic (120-129) codes; 102 is the missed check-in
_SOS_CID = frozenset(f"{n:03d}" for n in [*range(100, 110), *range(120, 130)]) - {"102"}
_NEW_CID: dict[str, EventType | str] = {
    **dict.fromkeys(_SOS_CID, EventType.SOS),
    "102": MISSED_CHECKIN,
    "301": EventType.POWER_LOST,
    "302": EventType.LOW_BATTERY,
    "384": EventType.LOW_BATTERY,
    "383": EventType.TAMPER,
    "144": EventType.TAMPER,
    "602": EventType.TEST,
    "406": EventType.CANCEL,
}
_RESTORE_CID: dict[str, EventType | str] = {"301": EventType.POWER_RESTORED}

# SIA DCS event codes (two letters) with the same meanings as the Contact ID ones above
_SIA: dict[str, EventType | str] = {
    "MA": EventType.SOS,  # medical alarm
    "PA": EventType.SOS,  # panic alarm
    "HA": EventType.SOS,  # hold-up (duress) alarm
    "QA": EventType.SOS,  # emergency alarm
    "AT": EventType.POWER_LOST,  # AC trouble
    "AR": EventType.POWER_RESTORED,  # AC restoral
    "YT": EventType.LOW_BATTERY,  # system battery trouble
    "XT": EventType.LOW_BATTERY,  # transmitter battery trouble
    "TA": EventType.TAMPER,  # tamper alarm
    "RP": EventType.TEST,  # automatic test
    "RX": EventType.TEST,  # manual test
    "OC": EventType.CANCEL,  # cancel report
}


@dataclass(frozen=True, slots=True)
class Code:
    """One event as the terminal reported it, and what it means to the alarm rules.

    `kind` is `cid` (`code` three digits, `qualifier` set) or `sia` (`code` two letters).
    `zone` is the zone or user number, as sent."""

    kind: str
    code: str
    qualifier: Qualifier | None = None
    zone: str = ""

    @property
    def meaning(self) -> EventType | str | None:
        """The event type it maps to, `MISSED_CHECKIN`, or None (stored, raises nothing)."""
        if self.kind == "sia":
            return _SIA.get(self.code)
        if self.qualifier is Qualifier.NEW:
            return _NEW_CID.get(self.code)
        if self.qualifier is Qualifier.RESTORE:
            return _RESTORE_CID.get(self.code)
        return None

    @property
    def automatic(self) -> bool:
        """A report the terminal makes of itself (periodic test), not a press."""
        if self.kind == "sia":
            return self.code == "RP"
        return self.qualifier is Qualifier.NEW and self.code == "602"

    @property
    def label(self) -> str:
        """As an alarm receiving centre writes it: `CID 1100 z001`, `SIA BA z501`."""
        head = (
            f"CID {self.qualifier or ''}{self.code}" if self.kind == "cid" else f"SIA {self.code}"
        )
        return f"{head} z{self.zone}" if self.zone else head


# every Contact ID and SIA code the catalog has words for (tests check the catalog)
CID_CODES = frozenset(
    [
        *_SOS_CID,
        "102",
        *(f"{n:03d}" for n in range(110, 119)),
        *(f"{n:03d}" for n in range(130, 139)),
        "140",
        "144",
        "150",
        "151",
        "154",
        "301",
        "302",
        "309",
        "311",
        "350",
        "383",
        "384",
        "400",
        "401",
        "406",
        "570",
        "602",
        "627",
    ]
)
SIA_CODES = frozenset([*_SIA, "BA", "BR", "FA", "FR", "CL", "OP", "WA", "GA", "KA", "TR"])
