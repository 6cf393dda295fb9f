"""An SMS's life after the API accepted it, and SMS that people send in."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from simulators.twilio.people import Person
from simulators.twilio.records import Callback
from simulators.twilio.resources import API_VERSION, new_sid, rfc2822
from simulators.twilio.state import StandInState


async def deliver(
    state: StandInState, message: dict[str, Any], status_callback: str | None
) -> None:
    """Walk the message through queued, sent, delivered (or its scripted failure).

    Each change updates the resource and, when a StatusCallback was given, is posted
    there signed, in order, as Twilio's MessageStatus/SmsStatus callbacks are.
    """
    person = state.person(message["to"])
    statuses = ["queued"]
    if person.sms_outcome == "failed":
        statuses.append("failed")
    else:
        statuses += ["sent", person.sms_outcome]
    for status in statuses:
        await state.pause()
        message["status"] = status
        message["date_updated"] = rfc2822()
        if status == "sent":
            message["date_sent"] = message["date_updated"]
        if status in {"failed", "undelivered"}:
            message["error_code"] = person.sms_error_code
        if status == "delivered":  # the handset has it before the receipt reaches us
            person.inbox.append(message["body"])
        if status_callback:
            await state.webhook("message-status", status_callback, _status_params(message))
    if message["status"] == "delivered":
        for reply in person.take_replies():
            await state.pause()
            await send_inbound(state, person.number, message["from"], reply)


def _status_params(message: dict[str, Any]) -> dict[str, str]:
    params = {
        "AccountSid": message["account_sid"],
        "ApiVersion": API_VERSION,
        "From": message["from"] or "",
        "MessageSid": message["sid"],
        "MessageStatus": message["status"],
        "SmsSid": message["sid"],
        "SmsStatus": message["status"],
        "To": message["to"],
    }
    if message["error_code"] is not None:
        params["ErrorCode"] = str(message["error_code"])
    if message["status"] == "delivered":
        params["RawDlrDoneDate"] = message["date_updated"]
    return params


async def send_inbound(state: StandInState, from_: str, to: str, body: str) -> Callback:
    """An SMS from a person to our number: posted, signed, to the configured sms_url.

    A TwiML <Message> in the answer is sent back to the person (lands in their inbox).
    """
    if not state.sms_url:
        raise RuntimeError("no sms_url is configured for incoming SMS")
    sid = new_sid("SM")
    params = {
        "AccountSid": state.config.account_sid,
        "ApiVersion": API_VERSION,
        "Body": body,
        "From": from_,
        "MessageSid": sid,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": to,
    }
    callback = await state.webhook("inbound-sms", state.sms_url, params)
    if callback.ok:
        _deliver_replies(state.person(from_), callback.body)
    return callback


def _deliver_replies(person: Person, twiml: str) -> None:
    if not twiml.strip().startswith("<"):
        return  # an empty or plain-text answer means: no reply
    try:
        # TwiML comes only from the service under test
        root = ET.fromstring(twiml)  # noqa: S314
    except ET.ParseError:
        return
    person.inbox.extend((node.text or "").strip() for node in root.iter("Message"))
