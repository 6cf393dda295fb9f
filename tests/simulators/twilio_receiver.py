"""The service's side of Twilio's webhooks, as a test needs it.

A small aiohttp server that records each webhook, checks its `X-Twilio-Signature` with
the SDK's `RequestValidator` against the URL it was sent to, and answers calls with
TwiML rendered by the SDK's `VoiceResponse`: a <Gather> asking to press 1, in Chinese.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Gather, VoiceResponse

VOICE, LANGUAGE = "Polly.Zhiyu", "cmn-CN"
ASK = "王秀英按了紧急按钮。您能去看看吗？能去请按1，不能去请按2。"
THANKS = "谢谢，已记录。"
NO_INPUT = "没有收到按键，再见。"


def ask_twiml(action: str = "gather") -> str:
    """What the service answers when Twilio fetches a call's TwiML."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=action, method="POST", timeout=5)
    gather.say(ASK, voice=VOICE, language=LANGUAGE)
    response.append(gather)
    response.say(NO_INPUT, voice=VOICE, language=LANGUAGE)
    return str(response)


def thanks_twiml() -> str:
    response = VoiceResponse()
    response.say(THANKS, voice=VOICE, language=LANGUAGE)
    response.hangup()
    return str(response)


@dataclass(frozen=True)
class Hit:
    path: str
    url: str
    form: dict[str, str]
    signed: bool


class Receiver:
    """Records webhooks; `answers[path]` is the TwiML (or text) to answer a path with."""

    def __init__(self, auth_token: str) -> None:
        self.validator = RequestValidator(auth_token)
        self.hits: list[Hit] = []
        self.answers: dict[str, str] = {"/twiml": ask_twiml(), "/gather": thanks_twiml()}
        self.base_url = ""
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def of(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path == path]

    async def wait_for(self, predicate: Callable[[], bool], within_s: float = 5.0) -> None:
        async with asyncio.timeout(within_s), self._changed:
            await self._changed.wait_for(predicate)

    async def _hook(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        signature = request.headers.get("X-Twilio-Signature", "")
        url = str(request.url)
        signed = bool(self.validator.validate(url, form, signature))
        self.hits.append(Hit(request.path, url, form, signed))
        async with self._changed:
            self._changed.notify_all()
        answer = self.answers.get(request.path, "")
        content_type = "text/xml" if answer.startswith("<") else "text/plain"
        return web.Response(text=answer, content_type=content_type)

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._hook)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
