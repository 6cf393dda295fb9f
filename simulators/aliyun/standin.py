"""The Alibaba Cloud stand-in: SendSms and IvrCall at the wire, refused as Alibaba Cloud
refuses them (`checks`), then delivery reports, call reports and scripted replies
pushed to the dispatcher as Alibaba Cloud's HTTP batch push does (JSON arrays).

People are scripted by number: `presses:D` (answers the call, presses D), `busy`,
`never_answers`, `replies:TEXT` (texts TEXT back after an SMS), `silent` (no report
ever comes), `undelivered` (its SMS reported failed), `fails:CODE` (every request for
the number refused with CODE).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

from simulators.aliyun.checks import (
    Refused,
    Template,
    check_number,
    check_params,
    check_signature,
    menu,
)

TEST_KEY_ID = "LTAI5tStandInKeyId0000"
TEST_KEY_SECRET = "standin-access-key-secret-0000000000"  # noqa: S105 - the stand-in's own
LIMIT = 35


@dataclass
class Person:
    presses: str | None = None
    answers: bool = True
    busy: bool = False
    replies: list[str] = field(default_factory=list)
    silent: bool = False
    fails: str | None = None
    undelivered: bool = False


def script(person: Person, behaviour: str) -> Person:
    words = behaviour.split(":")
    while words:
        word = words.pop(0)
        if word == "presses":
            person.presses = words.pop(0)
        elif word == "replies":
            person.replies.append(words.pop(0))
        elif word == "fails":
            person.fails = words.pop(0)
        elif word == "never_answers":
            person.answers = False
        elif word == "busy":
            person.busy = True
        elif word == "silent":
            person.silent = True
        elif word == "undelivered":
            person.undelivered = True
        else:
            raise ValueError(f"unknown behaviour {word!r} in {behaviour!r}")
    return person


def templates_from(rows: Iterable[Mapping[str, Any]]) -> dict[str, Template]:
    """Register every template of `dispatcher templates --format json`: code -> template."""
    found: dict[str, Template] = {}
    counter = itertools.count(100001)
    for row in rows:
        kind = str(row["kind"])
        code = f"{'TTS' if kind == 'voice' else 'SMS'}_{next(counter)}"
        found[code] = Template(code, str(row["code_name"]), kind, str(row["text"]))
    return found


def _now() -> str:
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")


class AliyunStandIn:
    """`async with AliyunStandIn(...) as s:` then point `notifications.aliyun.endpoint`
    and `voice_endpoint` at `s.base_url`, and `templates` at `s.codes`."""

    def __init__(
        self,
        templates: Iterable[Mapping[str, Any]],
        *,
        sign_name: str,
        push_base: str | None = None,
        key_id: str = TEST_KEY_ID,
        key_secret: str = TEST_KEY_SECRET,
        step_s: float = 0.01,
        retry_s: float = 60.0,
        push_twice: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.templates = templates_from(templates)
        self.codes = {t.code_name: t.code for t in self.templates.values()}
        self.push_base = push_base  # {public_url}/aliyun/{callback_token}
        self.sign_name, self.key_id, self.key_secret = sign_name, key_id, key_secret
        self.step_s = step_s
        self.push_twice = push_twice  # as a retried push: every report comes twice
        self.people: dict[str, Person] = {}
        self.sms: list[dict[str, Any]] = []  # accepted: phone, code, params, text, biz_id
        self.calls: list[dict[str, Any]] = []
        self.refused: list[Refused] = []
        self.pushes: list[tuple[str, list[dict[str, Any]], int]] = []  # path, items, status
        self.lost: list[tuple[str, list[dict[str, Any]]]] = []  # given up after 3 retries
        self.retry_s = retry_s  # a minute of Alibaba Cloud's retry schedule
        self.faults: list[str] = []  # the next requests refused with these codes
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_post("/", self._api)
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> Self:
        self._runner = web.AppRunner(self.app, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self.base_url = f"http://{self._host}:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in self._tasks:
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._runner is not None:
            await self._runner.cleanup()

    def person(self, number: str) -> Person:
        """By number as the dispatcher has it (+86...) or as Alibaba Cloud (1...)."""
        return self.people.setdefault(number.removeprefix("+86"), Person())

    def fail_next(self, *codes: str) -> None:
        self.faults.extend(codes)

    async def wait_for(self, predicate: Callable[[], bool], within_s: float = 5.0) -> None:
        async with asyncio.timeout(within_s):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def _note(self) -> None:
        self._changed.set()

    # --- the API --------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        body = await request.read()
        query = list(request.url.query.items())
        params = dict(query)
        if body and request.content_type == "application/x-www-form-urlencoded":
            params |= dict((await request.post()).items())  # type: ignore[arg-type]
        request_id = str(uuid.uuid4()).upper()
        try:
            check_signature(
                method=request.method,
                path=request.path,
                query=query,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                key_id=self.key_id,
                secret=self.key_secret,
            )
            action = request.headers.get("x-acs-action") or params.get("Action", "")
            answer = self._act(action, params)
        except Refused as exc:
            self.refused.append(exc)
            self._note()
            return web.json_response(
                {"Code": exc.code, "Message": exc.message, "RequestId": request_id},
                status=exc.status,
            )
        self._note()
        return web.json_response({"Code": "OK", "Message": "OK", "RequestId": request_id, **answer})

    def _act(self, action: str, params: Mapping[str, str]) -> dict[str, str]:
        if action == "SendSms":
            return self._send_sms(params)
        if action == "IvrCall":
            return self._ivr_call(params)
        raise Refused("InvalidAction.NotFound", f"no action {action!r}", 404)

    def _fault(self, number: str) -> None:
        if self.faults:
            raise Refused(self.faults.pop(0), "scripted fault")
        person = self.people.get(number)
        if person is not None and person.fails:
            raise Refused(person.fails, "scripted for this number")

    def _template(self, code: str, kind: str, illegal: str) -> Template:
        template = self.templates.get(code)
        if template is None or template.kind != kind:
            raise Refused(illegal, f"template {code!r} is not registered for {kind}")
        return template

    def _send_sms(self, p: Mapping[str, str]) -> dict[str, str]:
        number = p.get("PhoneNumbers", "")
        check_number(number)
        if p.get("SignName") != self.sign_name:
            raise Refused("isv.SMS_SIGNATURE_ILLEGAL", f"sign name {p.get('SignName')!r} unknown")
        template = self._template(p.get("TemplateCode", ""), "sms", "isv.SMS_TEMPLATE_ILLEGAL")
        params = check_params(template, p.get("TemplateParam"), LIMIT)
        self._fault(number)
        biz_id = f"{uuid.uuid4().int % 10**15}^0"
        text = f"【{self.sign_name}】{template.fill(params)}"
        sms = {
            "phone": number,
            "code": template.code,
            "code_name": template.code_name,
            "params": params,
            "text": text,
            "biz_id": biz_id,
            "out_id": p.get("OutId", ""),
        }
        self.sms.append(sms)
        self._later(self._after_sms(sms))
        return {"BizId": biz_id}

    def _ivr_call(self, p: Mapping[str, str]) -> dict[str, str]:
        number = p.get("CalledNumber", "")
        check_number(number, voice=True)
        if not p.get("CalledShowNumber"):
            raise Refused("isv.DISPLAY_NUMBER_ILLEGAL", "no CalledShowNumber")
        start = self._template(p.get("StartCode", ""), "voice", "isv.TTS_TEMPLATE_ILLEGAL")
        params = check_params(start, p.get("StartTtsParams"), LIMIT)
        keys = menu(p)
        if not keys:
            raise Refused("isv.INVALID_PARAMETERS", "MenuKeyMap is required")
        for code, tts in keys.values():
            check_params(self._template(code, "voice", "isv.TTS_TEMPLATE_ILLEGAL"), tts, LIMIT)
        if p.get("ByeCode"):
            self._template(p["ByeCode"], "voice", "isv.TTS_TEMPLATE_ILLEGAL")
        self._fault(number)
        call_id = f"{uuid.uuid4().int % 10**12}^{uuid.uuid4().int % 10**11}"
        call = {
            "phone": number,
            "code": start.code,
            "code_name": start.code_name,
            "said": start.fill(params),
            "keys": keys,
            "call_id": call_id,
            "out_id": p.get("OutId", ""),
            "pressed": None,
        }
        self.calls.append(call)
        self._later(self._after_call(call))
        return {"CallId": call_id}

    # --- what Alibaba Cloud pushes afterwards ------------------------------------------

    def _later(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _after_sms(self, sms: dict[str, Any]) -> None:
        person = self.people.get(sms["phone"], Person())
        if person.silent:
            return
        await asyncio.sleep(self.step_s)
        await self.push(
            "sms-report",
            [
                {
                    "phone_number": sms["phone"],
                    "send_time": _now(),
                    "report_time": _now(),
                    "success": not person.undelivered,
                    "err_code": "IC:0015" if person.undelivered else "DELIVERED",
                    "err_msg": "undelivered" if person.undelivered else "OK",
                    "sms_size": "1",
                    "biz_id": sms["biz_id"],
                    "out_id": sms["out_id"],
                }
            ],
        )
        while person.replies:  # each scripted reply once: our answer gets none
            await self.reply(sms["phone"], person.replies.pop(0))

    async def reply(self, number: str, content: str) -> None:
        """A person texts back (an upstream message)."""
        await self.push(
            "sms-up",
            [
                {
                    "phone_number": number.removeprefix("+86"),
                    "send_time": _now(),
                    "content": content,
                    "sign_name": self.sign_name,
                    "dest_code": "1234",
                    "sequence_id": uuid.uuid4().int % 10**12,
                }
            ],
        )

    async def _after_call(self, call: dict[str, Any]) -> None:
        person = self.people.get(call["phone"], Person())
        if person.silent:
            return
        ids = {"call_id": call["call_id"], "out_id": call["out_id"]}
        for code in ("200101", "200201"):
            await asyncio.sleep(self.step_s)
            await self.push("voice-report", [{**ids, "status_code": code, "status_time": _now()}])
        end = {**ids, "callee": call["phone"], "caller": "0531", "end_time": _now(), "dtmf": ""}
        await asyncio.sleep(self.step_s)
        if person.busy:
            await self.push("voice-report", [{**end, "status_code": "200002", "duration": "0"}])
            return
        if not person.answers:
            await self.push("voice-report", [{**end, "status_code": "200003", "duration": "0"}])
            return
        await self.push("voice-report", [{**ids, "status_code": "200102", "status_time": _now()}])
        pressed = person.presses if person.presses in call["keys"] else None
        call["pressed"] = pressed
        code = "200000" if pressed else "200008"
        await self.push(
            "voice-report", [{**end, "status_code": code, "duration": "12", "dtmf": pressed or ""}]
        )

    async def push(self, kind: str, items: list[dict[str, Any]]) -> None:
        """POST the items as Alibaba Cloud does: again after 1, 5 and 10 minutes (here
        `retry_s` times that) while the answer is not HTTP 200 with a numeric code."""
        if self.push_base is None:
            return
        for _ in range(2 if self.push_twice else 1):
            for wait in (0, 1, 5, 10):
                if wait:
                    await asyncio.sleep(wait * self.retry_s)
                status = await self._post(kind, items)
                self.pushes.append((kind, items, status))
                self._note()
                if status == 200:
                    break
            else:
                self.lost.append((kind, items))

    async def _post(self, kind: str, items: list[dict[str, Any]]) -> int:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.post(f"{self.push_base}/{kind}", json=items) as response,
            ):
                answer = await response.text()
                status = response.status
        except aiohttp.ClientError:
            return 0  # the dispatcher is down
        try:
            code = json.loads(answer).get("code")
        except (ValueError, AttributeError):
            return -1
        # Alibaba Cloud checks only that the code is a number
        return status if isinstance(code, int) else -1
