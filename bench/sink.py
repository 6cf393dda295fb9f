"""A local HTTP sink for notifications: `python -m bench.sink --port P --out FILE`.

It answers Twilio's two create calls the way Twilio does (201 and a resource with a
SID), so the dispatcher's Twilio SDK takes it for Twilio, and anything else with 200
(the peer's ntfy POSTs). Each request is written to FILE as one line,
`ARRIVAL_NS KIND KEY`, where KEY is the recipient: Twilio's `To`, or ntfy's `Title`
(the peer's sensor). Press -> first request is then measured at the wire.

Not `simulators/twilio/`: the stand-in checks every request against Twilio's OpenAPI
description and plays people, status callbacks included, which is right for tests and
would make the sink part of what is measured. This one costs a dictionary and a line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import signal
import time
from pathlib import Path
from typing import TextIO

from aiohttp import web

_FLUSH_S = 0.05


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def app(out: TextIO) -> web.Application:
    async def twilio(request: web.Request) -> web.Response:
        arrived = time.time_ns()
        form = await request.post()
        to = str(form.get("To", "?"))
        kind = request.match_info["resource"].lower()
        out.write(f"{arrived} {kind} {to}\n")
        sid = _sid("SM" if kind == "messages" else "CA")
        account, resource = request.match_info["account"], request.match_info["resource"]
        return web.json_response(
            {
                "sid": sid,
                "account_sid": account,
                "to": to,
                "from": str(form.get("From", "")),
                "status": "queued",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{account}/{resource}/{sid}.json",
            },
            status=201,
        )

    async def other(request: web.Request) -> web.Response:
        arrived = time.time_ns()
        await request.read()
        title = request.headers.get("Title", "?").replace(" ", "_")
        out.write(f"{arrived} post {title}\n")
        return web.Response(text="ok")

    application = web.Application()
    application.router.add_post(
        r"/2010-04-01/Accounts/{account}/{resource:Messages|Calls}.json", twilio
    )
    application.router.add_post("/{tail:.*}", other)
    return application


async def serve(port: int, out_path: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with out_path.open("w", buffering=1 << 16) as out:
        runner = web.AppRunner(app(out), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("ready", flush=True)

        async def flush() -> None:
            while True:
                await asyncio.sleep(_FLUSH_S)
                out.flush()

        flusher = asyncio.create_task(flush())
        await stop.wait()
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.out))


if __name__ == "__main__":
    main()
