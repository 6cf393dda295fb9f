"""`simulate aliyun`: the Alibaba Cloud stand-in as a long-running local service, so that
`dispatcher run` shows the story on +86 phones without an Alibaba Cloud account.

The templates are the dispatcher's own (`dispatcher templates --provider aliyun --format
json --public-url URL`, URL the dispatcher's as below, for the templates that end with a
responder link); the stand-in registers each under a code of its own and prints them with
the environment to start the dispatcher with. People: `--person +8613800000002=presses:1`
(behaviours in `standin`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import signal
from pathlib import Path

from simulators.aliyun.standin import TEST_KEY_ID, TEST_KEY_SECRET, AliyunStandIn, script


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("aliyun", help="run the Alibaba Cloud stand-in for the demo")
    demo.add_argument("--port", type=int, default=8091)
    demo.add_argument(
        "--dispatcher",
        default="http://127.0.0.1:8080",
        help="the dispatcher's notifications.public_url (reports and replies are pushed there)",
    )
    demo.add_argument(
        "--templates", type=Path, required=True, help="dispatcher templates --format json"
    )
    demo.add_argument("--sign-name", required=True, help="the registered sign name")
    demo.add_argument("--token", default="", help="the callback_token; default: a random one")
    demo.add_argument("--person", action="append", default=[], metavar="NUMBER=BEHAVIOUR")


async def run(args: argparse.Namespace) -> int:
    rows = json.loads(args.templates.read_text(encoding="utf-8"))
    token = args.token or secrets.token_urlsafe(16)
    public = args.dispatcher.rstrip("/")
    async with AliyunStandIn(
        rows,
        push_base=f"{public}/aliyun/{token}",
        sign_name=args.sign_name,
        step_s=1.0,
        port=args.port,
    ) as standin:
        for entry in args.person:
            number, _, behaviour = entry.partition("=")
            script(standin.person(number), behaviour)
        codes = json.dumps(standin.codes, ensure_ascii=False, separators=(",", ":"))
        print(f"Alibaba Cloud stand-in on {standin.base_url}; start the dispatcher with:")
        print("  DISPATCHER_NOTIFICATIONS__PROVIDER=aliyun \\")
        print(f"  DISPATCHER_NOTIFICATIONS__PUBLIC_URL={public} \\")
        print(f"  DISPATCHER_NOTIFICATIONS__ALIYUN__ENDPOINT={standin.base_url} \\")
        print(f"  DISPATCHER_NOTIFICATIONS__ALIYUN__VOICE_ENDPOINT={standin.base_url} \\")
        print(f"  DISPATCHER_NOTIFICATIONS__ALIYUN__ACCESS_KEY_ID={TEST_KEY_ID} \\")
        print(f"  DISPATCHER_NOTIFICATIONS__ALIYUN__ACCESS_KEY_SECRET={TEST_KEY_SECRET} \\")
        print(f"  DISPATCHER_NOTIFICATIONS__ALIYUN__SIGN_NAME={args.sign_name} \\")
        print("  DISPATCHER_NOTIFICATIONS__ALIYUN__CALLED_SHOW_NUMBER=053188880000 \\")
        print(f"  DISPATCHER_NOTIFICATIONS__ALIYUN__CALLBACK_TOKEN={token} \\")
        print(f"  DISPATCHER_NOTIFICATIONS__ALIYUN__TEMPLATES='{codes}' ./dev run", flush=True)
        if not any(str(r.get("text", "")).endswith(f"{public}/r/${{link}}") for r in rows):
            # the links' templates carry the address they were printed with
            print(
                "(no template ends with a responder link to "
                f"{public}: SMS go without it; print them with "
                f"dispatcher templates --provider aliyun --public-url {public} --format json)",
                flush=True,
            )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    return 0
