"""A Twilio stand-in: the two REST operations the service uses, over real HTTP.

It answers like Twilio (Basic auth, Twilio's error JSON and codes, message and call
resources), checks every create request against Twilio's OpenAPI description, then
plays the message's or call's life in the background with signed webhooks. Tests
script the people (`person(...)`) and the API's failures (`fail_next`, `delay_next`),
and read back everything that crossed the wire (`requests`, `callbacks`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import AsyncIterator, Callable, Iterable
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from simulators.twilio.messaging import deliver, send_inbound
from simulators.twilio.people import Person
from simulators.twilio.records import ApiRequest, Callback, CallProblem, Fault, Form, form_get
from simulators.twilio.resources import (
    TwilioError,
    call_resource,
    message_resource,
    new_sid,
)
from simulators.twilio.rules import reject_call, reject_message
from simulators.twilio.spec import CALLS, MESSAGES, Problem, match_operation, parse_form
from simulators.twilio.spec import validate_request as spec_problems
from simulators.twilio.state import StandInConfig, StandInState
from simulators.twilio.voice import run_call

STATE = web.AppKey("twilio_standin_state", StandInState)
TEST_ACCOUNT_SID = "AC" + "5ca1ab1e" * 4
TEST_AUTH_TOKEN = "standin-auth-token"  # a stand-in's, not a secret  # noqa: S105
_ACCOUNTS = "/2010-04-01/Accounts/{AccountSid}"


def make_app(
    account_sid: str,
    auth_token: str,
    *,
    sms_url: str | None = None,
    invalid_numbers: Iterable[str] = (),
    step_s: float = 0.01,
) -> web.Application:
    """The stand-in as an aiohttp app; its state is `app[STATE]`."""
    config = StandInConfig(account_sid, auth_token, sms_url, frozenset(invalid_numbers), step_s)
    state = StandInState(config)
    app = web.Application()
    app[STATE] = state

    async def lifetime(_: web.Application) -> AsyncIterator[None]:
        await state.start()
        yield
        await state.stop()

    app.cleanup_ctx.append(lifetime)
    app.router.add_post(f"{_ACCOUNTS}/Messages.json", _create)
    app.router.add_post(f"{_ACCOUNTS}/Calls.json", _create)
    app.router.add_get(_ACCOUNTS + "/{kind:Messages|Calls}/{sid}.json", _fetch)
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app


def _error(error: TwilioError) -> web.Response:
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if error.status == 401 else None
    return web.json_response(error.body(), status=error.status, headers=headers)


def _authorized(request: web.Request, config: StandInConfig) -> bool:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = f"{config.account_sid}:{config.auth_token}"
    return hmac.compare_digest(f"{user}:{password}", expected)


async def _create(request: web.Request) -> web.Response:
    state = request.app[STATE]
    form: Form = tuple(parse_form(await request.text()))

    async def answer(status: int, body: dict[str, Any], **extra: Any) -> web.Response:
        record = ApiRequest(request.method, request.path, form, status, body, **extra)
        await state.record_request(record)
        return web.json_response(body, status=status)

    fault = state.take_fault()
    if fault is not None:
        await state.stall(fault.delay_s)
        # a request still stalled when the stand-in stops creates nothing
        status = 503 if state.closing.is_set() else fault.status
        if status is not None:
            return await answer(status, TwilioError.for_status(status).body())
    if not _authorized(request, state.config):
        refusal = TwilioError.of(20003, status=401)
        await state.record_request(
            ApiRequest(request.method, request.path, form, 401, refusal.body(), authorized=False)
        )
        return _error(refusal)
    if request.match_info["AccountSid"] != state.config.account_sid:
        return await answer(404, TwilioError.of(20404, status=404).body())
    problems = spec_problems(request.path, form)
    if request.content_type != "application/x-www-form-urlencoded":
        problems.append(Problem("", "content-type", f"{request.content_type} is not a form"))
    matched = match_operation(request.path)
    operation = matched[0] if matched else MESSAGES
    reject = reject_message if operation == MESSAGES else reject_call
    to = form_get(form, "To") or ""
    error = reject(form, problems, state.invalid_numbers, state.people.get(to))
    if error is not None:
        return await answer(error.status, error.body(), problems=tuple(problems))
    account = state.config.account_sid
    if operation == CALLS:
        resource = call_resource(account, new_sid("CA"), form)
        state.calls[resource["sid"]] = resource
        response = await answer(201, dict(resource))
        state.spawn(run_call(state, resource, form), f"call {resource['sid']}")
    else:
        resource = message_resource(account, new_sid("SM"), form)
        state.messages[resource["sid"]] = resource
        response = await answer(201, dict(resource))
        callback = form_get(form, "StatusCallback")
        state.spawn(deliver(state, resource, callback), f"message {resource['sid']}")
    return response


async def _fetch(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if not _authorized(request, state.config):
        return _error(TwilioError.of(20003, status=401))
    store = state.messages if request.match_info["kind"] == "Messages" else state.calls
    resource = store.get(request.match_info["sid"])
    if resource is None or request.match_info["AccountSid"] != state.config.account_sid:
        return _error(TwilioError.of(20404, status=404))
    return web.json_response(resource)


async def _not_found(request: web.Request) -> web.Response:
    return _error(TwilioError.of(20404, status=404))


class TwilioStandIn:
    """Runs the stand-in on a free local port for a test.

    `async with TwilioStandIn(sms_url=...) as standin:` then point the service's
    `notifications.twilio.api_base` at `standin.base_url`.
    """

    def __init__(
        self,
        account_sid: str = TEST_ACCOUNT_SID,
        auth_token: str = TEST_AUTH_TOKEN,
        *,
        sms_url: str | None = None,
        invalid_numbers: Iterable[str] = (),
        step_s: float = 0.01,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.app = make_app(
            account_sid, auth_token, sms_url=sms_url, invalid_numbers=invalid_numbers, step_s=step_s
        )
        self.state = self.app[STATE]
        self.base_url = ""
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Self:
        # stalled handlers are cut short on exit, so shutdown need not wait long
        self._runner = web.AppRunner(self.app, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://{self._host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.state.closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # what crossed the wire
    @property
    def requests(self) -> list[ApiRequest]:
        return self.state.log.requests

    @property
    def callbacks(self) -> list[Callback]:
        return self.state.log.callbacks

    @property
    def call_problems(self) -> list[CallProblem]:
        """What in the service's TwiML real Twilio would fail on (bad voice, bad XML)."""
        return self.state.log.call_problems

    @property
    def messages(self) -> dict[str, dict[str, Any]]:
        return self.state.messages

    @property
    def calls(self) -> dict[str, dict[str, Any]]:
        return self.state.calls

    def callbacks_of(self, kind: str, sid: str | None = None) -> list[Callback]:
        """Callbacks of one kind, optionally for one MessageSid or CallSid."""
        return [
            cb
            for cb in self.callbacks
            if cb.kind == kind and (sid is None or sid in {cb.get("MessageSid"), cb.get("CallSid")})
        ]

    # scripting
    def person(self, number: str) -> Person:
        return self.state.person(number)

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """The next `n` create requests fail with `status` and Twilio's error JSON."""
        self.state.add_faults([Fault(status=status) for _ in range(n)])

    def delay_next(self, n: int = 1, seconds: float = 1.0, then_status: int | None = None) -> None:
        """The next `n` create requests stall for `seconds`, then succeed (the message is
        created, the caller gone or not, as Twilio's would be), or answer `then_status`
        and create nothing."""
        self.state.add_faults([Fault(status=then_status, delay_s=seconds) for _ in range(n)])

    @property
    def sms_url(self) -> str | None:
        return self.state.sms_url

    @sms_url.setter
    def sms_url(self, url: str | None) -> None:
        self.state.sms_url = url

    async def send_inbound_sms(self, from_: str, to: str, body: str) -> Callback:
        """A person texts our number: a signed webhook to `sms_url`."""
        return await send_inbound(self.state, from_, to, body)

    # waiting, on conditions with a deadline
    async def wait_for(self, predicate: Callable[[], bool], within_s: float = 5.0) -> None:
        """Return once `predicate()` holds after something was recorded; TimeoutError if not."""
        await self.state.wait_until(predicate, within_s)

    async def settle(self, within_s: float = 5.0) -> None:
        """Wait until every message and call has run its course; TimeoutError if not."""
        await self.state.settle(within_s)
