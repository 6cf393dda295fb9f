"""What a worker, relative or provider means by an SMS reply, and what it does. Pure.

`1` takes the alarm (a provider: accepts the service request), `2` declines, `3` says
"I am at the door", `4` (providers) says the service is done; a number after it
(`1 23`) names the alarm when the phone holds several. Full-width digits (１) and
Chinese words are understood. A bare word while several alarms wait for that answer
asks which, rather than guess.

STOP and its kin (Twilio's own opt-out words, which include CANCEL) stop our SMS to
that phone, never its calls: Twilio blocks only SMS after them, and a duty worker who
texts "cancel" meaning "pressed by mistake" must still be reachable by phone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    ARRIVED = "arrived"
    DONE = "done"
    STOP = "stop"
    START = "start"
    UNKNOWN = "unknown"


# Twilio's own opt-out and opt-in keywords, and the Chinese ones (退订 = unsubscribe)
_STOP = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "TD", "停止"}
_START = {"START", "YES", "UNSTOP", "订阅", "开始"}
_WORDS: dict[Intent, frozenset[str]] = {
    Intent.ACCEPT: frozenset({"1", "Y", "OK", "好", "能", "去", "能去", "接单"}),
    Intent.DECLINE: frozenset({"2", "N", "NO", "不", "不能", "不去"}),
    Intent.ARRIVED: frozenset({"3", "到", "到了", "已到", "到达", "ARRIVED"}),
    Intent.DONE: frozenset({"4", "完成", "已完成", "办完", "DONE"}),
}
_REPLY = re.compile(r"^(\S+?)(?:[\s#,，:：]+(\d{1,12}))?$")


@dataclass(frozen=True, slots=True)
class Reply:
    intent: Intent
    code: int | None = None


def parse_sms(body: str) -> Reply:
    # people copy the example with its quotes, or end with a full stop
    text = unicodedata.normalize("NFKC", body).strip().strip("\"“”'‘’「」").rstrip("。.!！").strip()
    upper = text.upper()
    if upper in _STOP:
        return Reply(Intent.STOP)
    if upper in _START:
        return Reply(Intent.START)
    match = _REPLY.match(upper)
    if match is None:
        return Reply(Intent.UNKNOWN)
    word, code = match.group(1), match.group(2)
    # "123" is not "1 23": a code must be set apart, or it would guess which alarm
    for intent, words in _WORDS.items():
        if word in words:
            return Reply(intent, int(code) if code else None)
    return Reply(Intent.UNKNOWN)


# --- what a reply does ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asked:
    """One alarm the phone was asked to help with: the newest notification of it."""

    notification_id: int
    alarm_id: int
    provider: bool  # the phone was asked as the community's provider of a service
    status: str  # the alarm's: open, acknowledged, resolved
    about: str  # whom the alarm is about, as a question back names it


class Action(StrEnum):
    TAKE = "take"  # acknowledge the alarm
    DECLINE = "decline"
    ARRIVE = "arrive"
    SERVICE_ACCEPTED = "service_accepted"
    SERVICE_DONE = "service_done"


@dataclass(frozen=True, slots=True)
class Act:
    action: Action
    asked: Asked


@dataclass(frozen=True, slots=True)
class AskWhich:
    """Several alarms wait for this answer: which one? (alarm id, whom it is about)"""

    intent: Intent
    alarms: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class Tell:
    """Nothing to do but answer: `help`, `unknown_code`, `nothing_open`, `not_provider`."""

    why: str
    code: int | None = None


Decision = Act | AskWhich | Tell

# which alarms a bare answer can mean: 1 and 2 only those nobody has taken yet (one
# taken by another gets "already taken" only when named); 3 and 4 any not closed
_WAITING = {
    Intent.ACCEPT: frozenset({"open"}),
    Intent.DECLINE: frozenset({"open"}),
    Intent.ARRIVED: frozenset({"open", "acknowledged"}),
    Intent.DONE: frozenset({"open", "acknowledged"}),
}


def _action(intent: Intent, asked: Asked) -> Action | None:
    match intent:
        case Intent.ACCEPT:
            return Action.SERVICE_ACCEPTED if asked.provider else Action.TAKE
        case Intent.DECLINE:
            return Action.DECLINE
        case Intent.ARRIVED:
            return Action.ARRIVE
        case Intent.DONE:
            return Action.SERVICE_DONE if asked.provider else None
    return None


def decide(reply: Reply, asked: Sequence[Asked]) -> Decision:
    """What an answer (not STOP or START) does, given the alarms this phone was asked
    about, newest first. `asked` is not empty (a stranger's SMS is ignored before)."""
    if reply.intent not in _WAITING:
        return Tell("help")
    candidates = list(asked)
    if reply.intent is Intent.DONE:
        candidates = [a for a in candidates if a.provider]
        if not candidates:
            return Tell("not_provider")
    if reply.code is not None:
        chosen = next((a for a in candidates if a.alarm_id == reply.code), None)
        if chosen is None:
            return Tell("unknown_code", reply.code)
    else:
        waiting = [a for a in candidates if a.status in _WAITING[reply.intent]]
        if not waiting:
            return Tell("nothing_open")
        if len(waiting) > 1:
            return AskWhich(reply.intent, tuple((a.alarm_id, a.about) for a in waiting))
        chosen = waiting[0]
    action = _action(reply.intent, chosen)
    if action is None:
        return Tell("not_provider")
    return Act(action, chosen)


# the digit of each intent, as a question back shows the answer to send
DIGIT = {Intent.ACCEPT: "1", Intent.DECLINE: "2", Intent.ARRIVED: "3", Intent.DONE: "4"}
