"""Which Twilio error a create request earns, in the order Twilio checks.

The spec's problems come first, turned into Twilio's codes (21604 for a missing To,
21211 for an invalid one, ...); then what Twilio demands beyond the schema (a body, a
sender, a TwiML source); then numbers scripted or configured to be refused. The
stand-in is stricter than Twilio in one way: an unknown parameter is refused (20001),
as a spec-driven mock would, so a typo in our request cannot pass unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

import phonenumbers

from simulators.twilio.people import Person
from simulators.twilio.records import Form, form_get
from simulators.twilio.resources import TwilioError
from simulators.twilio.spec import Problem

BODY_MAX = 1600
_CHANNEL_PREFIX = re.compile(r"[a-z]+:")


def dialable(number: str) -> bool:
    """E.164 (optionally behind a channel prefix) that libphonenumber finds possible.

    "Possible" (right length for the country) rather than "valid": tests may use made-up
    numbers, which real Twilio would refuse too, but a digit too many is still caught.
    """
    bare = _CHANNEL_PREFIX.sub("", number, count=1)
    if not bare.startswith("+"):
        return False
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(bare))
    except phonenumbers.NumberParseException:
        return False


def reject_message(
    form: Form, problems: Sequence[Problem], invalid: Collection[str], person: Person | None
) -> TwilioError | None:
    """The error for a Messages.json POST, or None when Twilio would accept it."""
    fields = _fields(form)
    bad = {p.field: p for p in reversed(problems)}
    to = form_get(form, "To")
    if to is None or to == "":
        return TwilioError.of(21604)
    if "To" in bad or not dialable(to) or to in invalid:
        return TwilioError.of(21211, fields)
    if not form_get(form, "From") and not form_get(form, "MessagingServiceSid"):
        return TwilioError.of(21603)
    if "From" in bad:
        return TwilioError.of(21212, fields)
    if not any(form_get(form, name) for name in ("Body", "MediaUrl", "ContentSid")):
        return TwilioError.of(21602)
    if len(form_get(form, "Body") or "") > BODY_MAX:
        return TwilioError.of(21617)
    if "StatusCallback" in bad:
        return TwilioError.of(21609, fields)
    return _rest(problems, person, fields)


def reject_call(
    form: Form, problems: Sequence[Problem], invalid: Collection[str], person: Person | None
) -> TwilioError | None:
    """The error for a Calls.json POST, or None when Twilio would accept it."""
    fields = _fields(form)
    bad = {p.field: p for p in reversed(problems)}
    to, from_ = form_get(form, "To"), form_get(form, "From")
    if not to:
        return TwilioError.of(21201)
    if "To" in bad or (to.startswith("+") and not dialable(to)) or to in invalid:
        return TwilioError.of(21211, fields)
    if not from_:
        return TwilioError.of(21213)
    if "From" in bad:
        return TwilioError.of(21212, fields)
    if not any(form_get(form, name) for name in ("Url", "Twiml", "ApplicationSid")):
        return TwilioError.of(21205)
    if "Url" in bad:
        return TwilioError(400, 21205, f"Url is not a valid URL: {fields['Url']}")
    if "StatusCallback" in bad:
        return TwilioError.of(21609, fields)
    return _rest(problems, person, fields)


def _rest(
    problems: Sequence[Problem], person: Person | None, fields: dict[str, str]
) -> TwilioError | None:
    if problems:
        return TwilioError(400, 20001, f"Invalid parameter: {problems[0]}")
    if person is not None and person.api_error_code is not None:
        return TwilioError.of(person.api_error_code, fields)
    return None


def _fields(form: Form) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in form:
        fields.setdefault(name, value)
    return fields
