"""The stand-in's state: people, records, injected faults, and signed webhooks out."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Collection, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator

from simulators.twilio.people import Person
from simulators.twilio.records import ApiRequest, Callback, CallProblem, Fault, Log

SIGNATURE_HEADER = "X-Twilio-Signature"
WEBHOOK_TIMEOUT_S = 15.0  # Twilio gives a webhook 15 s before it counts as failed


@dataclass(frozen=True)
class StandInConfig:
    account_sid: str
    auth_token: str
    sms_url: str | None = None
    invalid_numbers: frozenset[str] = frozenset()
    step_s: float = 0.01  # real time between two status changes


class StandInState:
    """Shared by the HTTP handlers and the background flows of one stand-in app."""

    def __init__(self, config: StandInConfig) -> None:
        self.config = config
        self.log = Log()
        self.people: dict[str, Person] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self.sms_url = config.sms_url
        self.closing = asyncio.Event()
        self._faults: deque[Fault] = deque()
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._signer = RequestValidator(config.auth_token)

    # lifecycle, from the app's cleanup_ctx
    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_S)
        self._session = aiohttp.ClientSession(timeout=timeout)

    async def stop(self) -> None:
        self.closing.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    # people and faults
    def person(self, number: str) -> Person:
        return self.people.setdefault(number, Person(number))

    def add_faults(self, faults: Collection[Fault]) -> None:
        self._faults.extend(faults)

    def take_fault(self) -> Fault | None:
        return self._faults.popleft() if self._faults else None

    @property
    def invalid_numbers(self) -> frozenset[str]:
        return self.config.invalid_numbers

    # background flows
    def spawn(self, flow: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(flow, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def pause(self, seconds: float | None = None) -> None:
        await asyncio.sleep(self.config.step_s if seconds is None else seconds)

    async def stall(self, seconds: float) -> None:
        """Sleep, cut short when the stand-in shuts down."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closing.wait(), seconds)

    async def settle(self, within_s: float) -> None:
        """Wait until every flow (callbacks, calls, replies) has finished."""
        async with asyncio.timeout(within_s):
            while self._tasks:
                await asyncio.wait(set(self._tasks))

    # records
    async def record_request(self, request: ApiRequest) -> None:
        self.log.requests.append(request)
        await self._notify()

    async def record_problem(self, call_sid: str, message: str) -> None:
        self.log.call_problems.append(CallProblem(call_sid, message))
        await self._notify()

    async def wait_until(self, predicate: Callable[[], bool], within_s: float) -> None:
        async with asyncio.timeout(within_s), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # webhooks out
    async def webhook(
        self, kind: str, url: str, params: Mapping[str, str], method: str = "POST"
    ) -> Callback:
        """Send one signed webhook the way Twilio does, record it and how it went."""
        if self._session is None:
            raise RuntimeError("the stand-in is not running")
        form = tuple(params.items())
        if method == "GET":
            # a GET carries the parameters in the URL, and the signature covers only it
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(form)}"
            signature = self._signer.compute_signature(url, {})
            data: dict[str, str] | None = None
        else:
            signature = self._signer.compute_signature(url, dict(params))
            data = dict(params)
        headers = {SIGNATURE_HEADER: signature, "User-Agent": "TwilioProxy/1.1"}
        status: int | None = None
        body, error = "", None
        try:
            async with self._session.request(method, url, data=data, headers=headers) as resp:
                status, body = resp.status, await resp.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        callback = Callback(kind, method, url, form, signature, status, body, error)
        self.log.callbacks.append(callback)
        await self._notify()
        return callback
