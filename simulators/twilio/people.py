"""How a simulated person behaves when the service texts or calls them.

Scripted fluently per phone number, for example
`standin.person("+8613900000001").answers_after(0.05).presses("1")`.
Without a script a person answers at once, presses nothing and gets every SMS.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal, Self

CallOutcome = Literal["answer", "busy", "no-answer", "failed"]
SmsOutcome = Literal["delivered", "undelivered", "failed"]

DECLINE_DIGIT = "2"


@dataclass
class Person:
    """One phone number's behaviour, and what reached it."""

    number: str
    answer_after_s: float = 0.0
    call_outcome: CallOutcome = "answer"
    answered_by: str = "human"
    sms_outcome: SmsOutcome = "delivered"
    sms_error_code: int | None = None
    api_error_code: int | None = None
    # once put through by a <Dial>: how long they talk (simulated: no real waiting)
    talk_s: int = 30
    _digits: deque[str] = field(default_factory=deque)
    _replies: list[str] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)
    inbox: list[str] = field(default_factory=list)
    # the caller id each call showed them (our number, or a <Dial>'s callerId)
    shown: list[str] = field(default_factory=list)

    # calls
    def answers_after(self, seconds: float) -> Self:
        """Picks up after `seconds` of ringing (real time: keep it short in tests)."""
        self.call_outcome, self.answer_after_s = "answer", seconds
        return self

    def presses(self, *digits: str) -> Self:
        """Answers each <Gather> in turn with the next of `digits`."""
        self._digits.extend(digits)
        return self

    def declines(self) -> Self:
        """Answers and presses 2 ("I cannot help")."""
        return self.presses(DECLINE_DIGIT)

    def never_answers(self) -> Self:
        """The call ends `no-answer` (at once: the stand-in does not wait the ring timeout)."""
        self.call_outcome, self.answer_after_s = "no-answer", math.inf
        return self

    def busy(self) -> Self:
        self.call_outcome = "busy"
        return self

    def unreachable(self) -> Self:
        """The call ends `failed`, as for a switched-off or unknown handset."""
        self.call_outcome = "failed"
        return self

    def voicemail(self) -> Self:
        """A machine answers: AnsweredBy=machine_start when detection was asked for."""
        self.call_outcome, self.answered_by = "answer", "machine_start"
        return self

    def talks(self, seconds: int) -> Self:
        """Answers a <Dial> and talks `seconds` (reported, not waited for) before hanging up."""
        self.call_outcome, self.talk_s = "answer", max(0, seconds)
        return self

    def next_digits(self) -> str | None:
        return self._digits.popleft() if self._digits else None

    # messages
    def replies_sms(self, *bodies: str) -> Self:
        """After an SMS is delivered, texts back each of `bodies` to the sender."""
        self._replies.extend(bodies)
        return self

    def sms_undelivered(self, code: int = 30003) -> Self:
        """SMS go queued, sent, then undelivered with `code` (30003: unreachable handset)."""
        self.sms_outcome, self.sms_error_code = "undelivered", code
        return self

    def sms_fails(self, code: int = 30008) -> Self:
        """SMS go queued, then failed with `code` (30008: unknown error)."""
        self.sms_outcome, self.sms_error_code = "failed", code
        return self

    def take_replies(self) -> list[str]:
        replies, self._replies = self._replies, []
        return replies

    # the REST API
    def rejected_with(self, code: int) -> Self:
        """The API refuses every SMS or call to this number with Twilio error `code`.

        For example 21610 (unsubscribed), 21612 (not reachable by SMS), 21614 (not a
        mobile number), 21211 (invalid number).
        """
        self.api_error_code = code
        return self
