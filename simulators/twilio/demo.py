"""`simulate twilio`: the stand-in as a long-running local service, so `dispatcher run`
shows the whole story (SMS, calls, key presses, replies) without a Twilio account.

People are scripted on the command line: `--person +8613900000001=presses:1:after:3`.
Behaviours: `presses:D` (answers, presses D), `declines`, `never_answers`, `busy`,
`voicemail`, `replies:TEXT` (texts TEXT back after each SMS), `after:S` (rings S s
before answering), `talks:S` (put through by an operator's call, talks S seconds).
Anyone not named answers, presses nothing and talks 30 seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from simulators.twilio.people import Person
from simulators.twilio.standin import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TwilioStandIn


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("twilio", help="run the Twilio stand-in for the demo")
    demo.add_argument("--port", type=int, default=8090)
    demo.add_argument(
        "--dispatcher",
        default="http://127.0.0.1:8080",
        help="the dispatcher's notifications.public_url (inbound SMS go there)",
    )
    demo.add_argument("--person", action="append", default=[], metavar="NUMBER=BEHAVIOUR")


def script(person: Person, behaviour: str) -> None:
    words = behaviour.split(":")
    while words:
        word = words.pop(0)
        if word == "presses":
            person.presses(words.pop(0))
        elif word == "after":
            person.answers_after(float(words.pop(0)))
        elif word == "talks":
            person.talks(int(words.pop(0)))
        elif word == "replies":
            person.replies_sms(words.pop(0))
        elif word in {"declines", "never_answers", "busy", "voicemail"}:
            getattr(person, word)()
        else:
            raise ValueError(f"unknown behaviour {word!r} in {behaviour!r}")


async def run(args: argparse.Namespace) -> int:
    public = args.dispatcher.rstrip("/")
    async with TwilioStandIn(sms_url=f"{public}/twilio/sms", port=args.port) as standin:
        for entry in args.person:
            number, _, behaviour = entry.partition("=")
            script(standin.person(number), behaviour)
        print(f"Twilio stand-in on {standin.base_url}; start the dispatcher with:")
        print("  DISPATCHER_NOTIFICATIONS__PROVIDER=twilio \\")
        print(f"  DISPATCHER_NOTIFICATIONS__PUBLIC_URL={public} \\")
        print(f"  DISPATCHER_NOTIFICATIONS__TWILIO__API_BASE={standin.base_url} \\")
        print(f"  DISPATCHER_NOTIFICATIONS__TWILIO__ACCOUNT_SID={TEST_ACCOUNT_SID} \\")
        print(f"  DISPATCHER_NOTIFICATIONS__TWILIO__AUTH_TOKEN={TEST_AUTH_TOKEN} \\")
        print("  DISPATCHER_NOTIFICATIONS__TWILIO__FROM_NUMBER=+8653188880000 ./dev run")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    return 0
