"""The JSON Twilio answers with: message and call resources, and its error shape."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from simulators.twilio.records import Form, form_get, form_getall

API_VERSION = "2010-04-01"

# Twilio's words for its error codes, as its API returns them
_MESSAGES = {
    20001: "Invalid parameter",
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21201: "No 'To' number is specified",
    21205: "Url parameter is required.",
    21211: "The 'To' number {To} is not a valid phone number.",
    21212: "The 'From' number {From} is not a valid phone number, shortcode, or alphanumeric"
    " sender ID.",
    21213: "No 'From' number is specified",
    21214: "'To' phone number cannot be reached",
    21217: "Phone number does not appear to be valid",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21609: "The StatusCallback URL {StatusCallback} is not a valid URL.",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number: {To}, is not currently reachable using the 'From' phone"
    " number: {From} via SMS.",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}
_STATUS_CODES = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}


@dataclass(frozen=True)
class TwilioError:
    """An error answer: HTTP status and Twilio's {code, message, more_info, status}."""

    status: int
    code: int
    message: str

    @classmethod
    def of(
        cls, code: int, fields: Mapping[str, str] | None = None, *, status: int = 400
    ) -> TwilioError:
        """Twilio's own message for `code`, with the request's fields filled in."""
        template = _MESSAGES.get(code, f"Error {code}")
        return cls(status, code, template.format_map(_Blank(fields or {})))

    @classmethod
    def for_status(cls, status: int) -> TwilioError:
        """The error Twilio answers with for an HTTP status (injected failures)."""
        code = _STATUS_CODES.get(status, 20500)
        return cls(status, code, _MESSAGES.get(code, f"HTTP {status}"))

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }
        if self.code == 20003:
            body["detail"] = "Your AccountSid or AuthToken was incorrect."
        return body


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def rfc2822(moment: datetime | None = None) -> str:
    """Twilio's date format in resources and callbacks: 'Thu, 27 Nov 2026 08:15:00 +0000'."""
    return format_datetime(moment or datetime.now(UTC))


def segments(body: str) -> int:
    """SMS segments: 160 GSM-7 or 70 UCS-2 characters, fewer per part when split."""
    if body.isascii():
        return 1 if len(body) <= 160 else -(-len(body) // 153)
    return 1 if len(body) <= 70 else -(-len(body) // 67)


def message_resource(account_sid: str, sid: str, form: Form) -> dict[str, Any]:
    """The resource a Messages.json POST creates, as Twilio returns it."""
    now = rfc2822()
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
    body = form_get(form, "Body") or ""
    service = form_get(form, "MessagingServiceSid")
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": body,
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form_get(form, "From"),
        "messaging_service_sid": service,
        "num_media": str(len(form_getall(form, "MediaUrl"))),
        "num_segments": str(segments(body)),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "accepted" if service else "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": form_get(form, "To"),
        "uri": f"{uri}.json",
    }


def call_resource(account_sid: str, sid: str, form: Form) -> dict[str, Any]:
    """The resource a Calls.json POST creates, as Twilio returns it."""
    now = rfc2822()
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{sid}"
    sub = ("Notifications", "Recordings", "Payments", "Events", "Siprec", "Streams")
    return {
        "account_sid": account_sid,
        "annotation": None,
        "answered_by": None,
        "api_version": API_VERSION,
        "caller_name": None,
        "date_created": now,
        "date_updated": now,
        "direction": "outbound-api",
        "duration": None,
        "end_time": None,
        "forwarded_from": None,
        "from": form_get(form, "From"),
        "from_formatted": form_get(form, "From"),
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "price": None,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": sid,
        "start_time": None,
        "status": "queued",
        "subresource_uris": {name.lower(): f"{uri}/{name}.json" for name in sub},
        "to": form_get(form, "To"),
        "to_formatted": form_get(form, "To"),
        "trunk_sid": None,
        "uri": f"{uri}.json",
    }
