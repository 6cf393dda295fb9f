"""SMS (SendSms) and interactive text-to-speech calls (IvrCall) through Alibaba Cloud's
own SDKs, on their asyncio path.

`endpoint` and `voice_endpoint` are the API hosts, or `http://127.0.0.1:PORT` of a
stand-in in tests. Alibaba Cloud answers a refused message with HTTP 200 and a `Code`
other than `OK` (`isv.MOBILE_NUMBER_ILLEGAL`, `isv.BUSINESS_LIMIT_CONTROL`, ...), and a
refused request (signature, key) with an HTTP error the SDK raises: both are sorted
here into `PermanentFailure` (this message can never go this way) or
`TemporaryFailure` (a retry may help). A provider with a next route fails over on
either (`notify.routed`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client as SmsClient
from alibabacloud_dyvmsapi20170525 import models as vms_models
from alibabacloud_dyvmsapi20170525.client import Client as VmsClient
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.exceptions import DaraException
from darabonba.runtime import RuntimeOptions

from dispatcher.notify.errors import PermanentFailure, TemporaryFailure, UnknownOutcome

log = logging.getLogger(__name__)

# the message is wrong for good: the same request fails again (Alibaba Cloud's codes)
PERMANENT_CODES = frozenset(
    {
        "isv.MOBILE_NUMBER_ILLEGAL",  # not a valid mainland number
        "isv.SMS_TEMPLATE_ILLEGAL",  # template unknown or not approved
        "isv.TEMPLATE_ILLEGAL",
        "isv.TTS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",  # sign name unknown or not approved
        "isv.SMS_SIGN_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.TEMPLATE_PARAMS_ILLEGAL",
        "isv.PARAM_LENGTH_LIMIT",  # a variable over its length
        "isv.INVALID_JSON_PARAM",
        "isv.INVALID_PARAMETERS",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.PARAM_NOT_SUPPORT_URL",
        "isv.SMS_CONTENT_ILLEGAL",
        "isv.DOMESTIC_NUMBER_NOT_SUPPORTED",
        "isv.DISPLAY_NUMBER_ILLEGAL",
        "isv.COMPLAINT_REJECT",
        "NO_TEMPLATE",  # ours: no template code registered for the message
    }
)
# our account, not the message: fixable by someone, so the message waits (or fails over)
ACCOUNT_CODES = frozenset(
    {
        "isv.OUT_OF_SERVICE",
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.ACCOUNT_ABNORMAL",
        "isv.ACCOUNT_NOT_EXISTS",
        "isv.PRODUCT_UN_SUBSCRIPT",
        "isv.PRODUCT_UNSUBSCRIBE",
        "isp.RAM_PERMISSION_DENY",
        "isv.DAY_LIMIT_CONTROL",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId.NotFound",
        "InvalidAccessKeyId",
    }
)


@dataclass(frozen=True, slots=True)
class Key:
    """One key of a call's menu: what is said after it (a template and its values)."""

    key: str
    code: str
    params: Mapping[str, str] | None = None


def _config(endpoint: str, key_id: str, secret: str, timeout_s: float) -> Config:
    parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    return Config(
        access_key_id=key_id,
        access_key_secret=secret,
        endpoint=parts.netloc,
        protocol=parts.scheme,
        read_timeout=int(timeout_s * 1000),
        connect_timeout=int(timeout_s * 1000),
    )


def _json(params: Mapping[str, str] | None) -> str | None:
    return json.dumps(dict(params), ensure_ascii=False) if params else None


class AliyunGateway:
    """Sends SMS by template and places calls that take a key; returns Alibaba
    Cloud's id (the SMS's BizId, the call's CallId)."""

    def __init__(
        self,
        *,
        endpoint: str,
        voice_endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        called_show_number: str = "",
        timeout_s: float = 10.0,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._sms = SmsClient(_config(endpoint, access_key_id, access_key_secret, timeout_s))
        self._vms = VmsClient(_config(voice_endpoint, access_key_id, access_key_secret, timeout_s))
        self._sign_name = sign_name
        self._show = called_show_number
        self._timeout_s = timeout_s

    async def send_sms(
        self, phone: str, template_code: str, params: Mapping[str, str] | None, out_id: str
    ) -> str:
        """SendSms to one mainland number (`+86` dropped: Alibaba Cloud wants 1xxxxxxxxxx)."""
        request = sms_models.SendSmsRequest(
            phone_numbers=national(phone),
            sign_name=self._sign_name,
            template_code=template_code,
            template_param=_json(params),
            out_id=out_id,
        )
        body = await self._call(
            "SMS", lambda: self._sms.send_sms_with_options_async(request, RuntimeOptions())
        )
        return _id_of("SMS", body, "biz_id")

    async def ivr_call(
        self,
        phone: str,
        start: Key,
        keys: list[Key],
        *,
        bye_code: str | None,
        out_id: str,
        play_times: int = 2,
        key_timeout_ms: int = 8000,
    ) -> str:
        """IvrCall: say `start`, then what the key pressed maps to; `bye_code` when no
        key came. The key pressed comes back in the call's report (VoiceReport `dtmf`)."""
        request = vms_models.IvrCallRequest(
            called_number=national(phone),
            called_show_number=self._show,
            start_code=start.code,
            start_tts_params=_json(start.params),
            menu_key_map=[
                vms_models.IvrCallRequestMenuKeyMap(
                    key=k.key, code=k.code, tts_params=_json(k.params)
                )
                for k in keys
            ],
            bye_code=bye_code,
            play_times=play_times,
            timeout=key_timeout_ms,
            out_id=out_id,
        )
        body = await self._call(
            "call", lambda: self._vms.ivr_call_with_options_async(request, RuntimeOptions())
        )
        return _id_of("call", body, "call_id")

    async def _call(self, what: str, send: Callable[[], Awaitable[Any]]) -> Any:
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await send()
        except DaraException as exc:
            raise classify(str(exc.code or ""), str(exc.message or exc), what) from exc
        except TimeoutError as exc:  # Alibaba Cloud may have taken it after all
            raise UnknownOutcome(
                f"{what}: no answer from Alibaba Cloud in {self._timeout_s} s"
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise TemporaryFailure(f"{what}: {type(exc).__name__}: {exc}") from exc
        body = getattr(response, "body", None)
        code = str(getattr(body, "code", "") or "")
        if code != "OK":
            raise classify(code, str(getattr(body, "message", "") or ""), what)
        return body


def _id_of(what: str, body: Any, field: str) -> str:
    value = getattr(body, field, None)
    if not isinstance(value, str) or not value:
        raise TemporaryFailure(f"{what}: Alibaba Cloud's answer has no {field}")
    return value


def national(phone: str) -> str:
    """A mainland number as Alibaba Cloud takes it: 1xxxxxxxxxx, without +86."""
    return phone.removeprefix("+86")


def classify(code: str, message: str, what: str = "message") -> PermanentFailure | TemporaryFailure:
    """Sort an Alibaba Cloud error code for the notifier."""
    text = f"Alibaba Cloud {what}: {code}: {message}"
    if code in PERMANENT_CODES:
        return PermanentFailure(None, text)
    if code in ACCOUNT_CODES:
        log.error("Alibaba Cloud refused our account or key (%s): %s", code, message)
    # flow control of a number (isv.BUSINESS_LIMIT_CONTROL), system errors, unknown: later
    return TemporaryFailure(text)
