"""The yardstick: a bare Python subscriber on the same broker in the same run.

    python -m bench.bare_subscriber --port P --topic T --count N --report FILE

aiomqtt and `json.loads` on each payload, nothing else, QoS 1 as the dispatcher
subscribes (docs/stack-notes.md measured this at ~6,800/s alone on the machine). It prints
`ready` once subscribed, stops after N messages (or 20 s without one), and writes
`{"received", "first_ns", "last_ns"}` to FILE. What the dispatcher does per message
beyond this is what the ratio prices.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import aiomqtt

from bench.broker import LOAD_PASSWORD, LOAD_USER

_IDLE_S = 20.0


async def receive(port: int, topic: str, count: int) -> dict[str, int]:
    received = first = last = 0
    async with aiomqtt.Client(
        "127.0.0.1",
        port,
        identifier=f"bench-bare-{time.time_ns()}",
        username=LOAD_USER,
        password=LOAD_PASSWORD,
    ) as client:
        await client.subscribe(topic, qos=1)
        print("ready", flush=True)
        messages = aiter(client.messages)
        while received < count:
            try:
                message = await asyncio.wait_for(anext(messages), _IDLE_S)
            except TimeoutError:
                break
            json.loads(message.payload)
            last = time.time_ns()
            first = first or last
            received += 1
    return {"received": received, "first_ns": first, "last_ns": last}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args()
    report = asyncio.run(receive(args.port, args.topic, args.count))
    args.report.write_text(json.dumps(report))


if __name__ == "__main__":
    main()
