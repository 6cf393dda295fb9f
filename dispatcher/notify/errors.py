"""How a notification channel says a send did not happen, and whether to try again.

The notifier's one rule (STYLE habit 4): a `TemporaryFailure` means retry later with
backoff; a `PermanentFailure` means this message to this address can never succeed
(invalid or unsubscribed number), so mark the notification failed and escalate.
"""

from __future__ import annotations


class NotificationError(Exception):
    """A channel could not send; the subclass says whether trying again can help."""


class PermanentFailure(NotificationError):  # noqa: N818 - the notifier's word for it
    """The provider refused this message for good; `code` is its error code (Twilio's)."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(f"{code}: {message}" if code is not None else message)
        self.code = code
        self.message = message


class TemporaryFailure(NotificationError):  # noqa: N818
    """The send did not happen (the provider refused for now, or was not reached): retry
    later with backoff."""

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class UnknownOutcome(TemporaryFailure):
    """The request may have reached the provider (no answer in time, an answer we could
    not read): it may have sent the message. Its status report will say so (the report
    address names the notification), so the notifier waits for one before it sends
    again: never the same message twice."""
