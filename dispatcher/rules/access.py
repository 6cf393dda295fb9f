"""What each role may read of a resident's record, beyond what every user sees.

Operators answer emergencies: during one they need the medical notes at once (allergies,
illnesses), and they always see name, address, terminal and contacts, which they need to
call people and send them. Outside an alarm they do not need the medical notes, which
are health data (sensitive personal information): then only supervisors and
administrators read them. Every read and edit is in the audit log either way.
"""

from __future__ import annotations

from typing import Final

READS_MEDICAL_ALWAYS: Final = frozenset({"supervisor", "admin"})
READS_AUDIT: Final = READS_MEDICAL_ALWAYS


def may_read_medical(role: str, *, resident_has_unresolved_alarm: bool) -> bool:
    """Supervisors and administrators always; operators while the resident has an
    alarm that is not resolved (the one they are working on, or another)."""
    return role in READS_MEDICAL_ALWAYS or resident_has_unresolved_alarm
