"""How the service logs: text for a person at a terminal, or JSON lines for a log
collector (`log.format: json`), with phone numbers masked in both.

The standard library's logging with a formatter of our own, not structlog: every module
already logs through `logging.getLogger`, and a JSON line is `json.dumps` of a record's
few fields; structlog would add a dependency and a second way to log for that alone.
Lines about an alarm or a terminal carry `alarm_id` and `device_id`
(`log.info(..., extra=about(alarm_id, device_id))`), as JSON fields.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any, Final, Literal

# E.164 (+8613912340001) and bare Chinese mobile numbers (13912340001); device ids,
# event ids and times do not look like either
_E164: Final = re.compile(r"\+\d{8,15}\b")
_MOBILE: Final = re.compile(r"(?<![\d+])1[3-9]\d{9}(?!\d)")
_ABOUT: Final = ("alarm_id", "device_id")


def mask_phones(text: str) -> str:
    """+8613912340001 -> +86139****0001; 13912340001 -> 139****0001: enough to tell
    two numbers apart in a log, not enough to call anyone."""
    text = _E164.sub(lambda m: _mask(m[0], keep_head=6), text)
    return _MOBILE.sub(lambda m: _mask(m[0], keep_head=3), text)


def _mask(number: str, *, keep_head: int) -> str:
    hidden = len(number) - keep_head - 4
    return number[:keep_head] + "*" * max(hidden, 4) + number[-4:]


def about(alarm_id: int | None = None, device_id: str | None = None) -> dict[str, Any]:
    """`extra=` for a log call about an alarm or a terminal."""
    return {"alarm_id": alarm_id, "device_id": device_id}


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return mask_phones(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC), level, logger, message, alarm_id and
    device_id where they apply, exc (the traceback) on an exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _ABOUT:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return mask_phones(json.dumps(line, ensure_ascii=False, default=str))


def configure(fmt: Literal["text", "json"], level: str) -> None:
    """The root logger's one handler (to standard error) gets the chosen format."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    for handler in root.handlers:
        handler.setFormatter(formatter)
