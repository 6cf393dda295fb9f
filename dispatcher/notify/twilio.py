"""SMS and voice calls through Twilio's official SDK, on its asyncio (aiohttp) path.

The SDK has no base-URL setting (docs/stack-notes.md), so its HTTP client is subclassed to
send every request to `notifications.twilio.api_base`: the real API, or a local
stand-in in tests. Errors are sorted for the notifier: `PermanentFailure` when this
message to this number can never succeed, `TemporaryFailure` when a retry may.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from dispatcher.notify.errors import PermanentFailure, TemporaryFailure, UnknownOutcome

log = logging.getLogger(__name__)

CALL_EVENTS = ("initiated", "ringing", "answered", "completed")
# refusals about the recipient: the same message to the same number fails again
RECIPIENT_CODES = frozenset(
    {
        21211,  # invalid 'To' number
        21214,  # 'To' number cannot be reached
        21217,  # number does not appear to be valid
        21219,  # 'To' number not verified (trial account)
        21408,  # no permission to send to that region
        21610,  # recipient unsubscribed (replied STOP)
        21612,  # 'To' not reachable by SMS from our number
        21614,  # 'To' is not a mobile number
    }
)
# our credentials or account, not the message: fixable, so the notification must wait
_CONFIG_STATUSES = frozenset({401, 403, 404})


class _RebasedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The SDK's aiohttp client, sending to `api_base` instead of *.twilio.com."""

    def __init__(self, api_base: str, timeout_s: float) -> None:
        super().__init__(timeout=timeout_s)
        base = urlsplit(api_base)
        self._scheme, self._netloc, self._prefix = base.scheme, base.netloc, base.path.rstrip("/")

    # the SDK's signature, positional arguments and `timeout` included
    async def request(  # noqa: PLR0917
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
        allow_redirects: bool = False,
    ) -> Any:
        parts = urlsplit(url)
        path = self._prefix + parts.path
        url = urlunsplit((self._scheme, self._netloc, path, parts.query, parts.fragment))
        headers = dict(headers or {})
        if auth is not None:
            # our own header instead of aiohttp's BasicAuth, deprecated in aiohttp 3.14
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            # the SDK's async client ignores its own timeout unless given per request
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )


class TwilioGateway:
    """Sends SMS and places calls from one Twilio number; returns Twilio's SID."""

    def __init__(
        self,
        api_base: str,
        account_sid: str,
        auth_token: str,
        from_number: str,
        timeout_s: float = 10.0,
        *,
        call_events: Sequence[str] = CALL_EVENTS,
        machine_detection: str | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._api_base = api_base
        self._account_sid, self._auth_token = account_sid, auth_token
        self._from = from_number
        self._timeout_s = timeout_s
        self._call_events = list(call_events)
        self._machine_detection = machine_detection
        self._http: _RebasedHttpClient | None = None
        self._client: Any = None

    def _twilio(self) -> Any:
        # made on first use: the SDK opens an aiohttp session, which wants a running loop
        if self._client is None:
            self._http = _RebasedHttpClient(self._api_base, self._timeout_s)
            self._client = Client(self._account_sid, self._auth_token, http_client=self._http)
        return self._client

    async def send_sms(self, to: str, body: str, status_callback: str | None = None) -> str:
        """Send `body` to `to`; the Message SID (SM...) that status callbacks will carry."""
        fields: dict[str, Any] = {"to": to, "from_": self._from, "body": body}
        if status_callback:
            fields["status_callback"] = status_callback
        return await self._create("SMS", lambda: self._twilio().messages.create_async(**fields))

    async def place_call(
        self,
        to: str,
        twiml_url: str,
        status_callback: str | None = None,
        *,
        detect_machine: bool = True,
    ) -> str:
        """Call `to`; Twilio fetches the TwiML from `twiml_url` when answered. The Call SID.

        `detect_machine=False` for an operator's own phone: nobody's voicemail takes it."""
        fields: dict[str, Any] = {"to": to, "from_": self._from, "url": twiml_url}
        if status_callback:
            fields |= {
                "status_callback": status_callback,
                "status_callback_event": self._call_events,
            }
        if self._machine_detection and detect_machine:
            fields["machine_detection"] = self._machine_detection
        return await self._create("call", lambda: self._twilio().calls.create_async(**fields))

    @property
    def from_number(self) -> str:
        """Our Twilio number: what the people we call see."""
        return self._from

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
        self._http = self._client = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _create(self, what: str, create: Callable[[], Awaitable[Any]]) -> str:
        try:
            async with asyncio.timeout(self._timeout_s):
                resource = await create()
        except (TwilioRestException, TwilioServiceException) as exc:
            raise classify(exc) from exc
        except TimeoutError as exc:  # Twilio may have created it after all
            raise UnknownOutcome(f"{what}: no answer from Twilio in {self._timeout_s} s") from exc
        except aiohttp.ClientError as exc:
            raise TemporaryFailure(f"{what}: {type(exc).__name__}: {exc}") from exc
        except ValueError as exc:  # a 2xx whose body is not JSON: created, or not
            raise UnknownOutcome(f"{what}: unreadable answer from Twilio: {exc}") from exc
        sid = getattr(resource, "sid", None)
        if not isinstance(sid, str):
            raise TemporaryFailure(f"{what}: Twilio's answer has no sid")
        return sid


def classify(exc: Exception) -> PermanentFailure | TemporaryFailure:
    """Sort an SDK error: retry for server, rate and credential trouble; else give up."""
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    code = code if isinstance(code, int) else None
    message = str(getattr(exc, "msg", None) or getattr(exc, "detail", None) or exc)
    if not isinstance(status, int) or status == 429 or status >= 500:
        return TemporaryFailure(f"Twilio {status}: {message}", code=code, status=status)
    if status in _CONFIG_STATUSES and code not in RECIPIENT_CODES:
        log.error("Twilio refused our credentials or account (%s %s): %s", status, code, message)
        return TemporaryFailure(f"Twilio {status}: {message}", code=code, status=status)
    # any other 4xx: this request is wrong for good, retrying sends the same
    return PermanentFailure(code, message)
