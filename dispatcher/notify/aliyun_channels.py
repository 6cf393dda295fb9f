"""The `sms` and `voice` channels on Alibaba Cloud: every message as its registered
template (`aliyun_templates`), the notification's id as `OutId`, so that the pushed
reports find their row. Ids come back as `aliyun:<BizId or CallId>`."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from dispatcher.catalog import Phrase
from dispatcher.notify import aliyun_templates as templates
from dispatcher.notify.aliyun import AliyunGateway, Key
from dispatcher.notify.channels import Outgoing
from dispatcher.notify.errors import PermanentFailure

log = logging.getLogger(__name__)

PREFIX = "aliyun:"
# the keys of a call, as the Twilio path has them: 1 take, 2 cannot, 3 at the door, 9 again
CALL_KEYS = {"1": "voice.taken", "2": "voice.declined", "3": "voice.arrived"}


def _phone(message: Outgoing) -> str:
    if not message.phone:
        raise PermanentFailure(None, f"{message.recipient_name} has no phone number")
    return message.phone


def _code(key: str, language: str, codes: Mapping[str, str]) -> str:
    code = codes.get(templates.code_name(key, language))
    if not code:
        name = templates.code_name(key, language)
        raise PermanentFailure(None, f"NO_TEMPLATE: no Alibaba Cloud template for {name}")
    return code


def _phrase(message: Outgoing) -> Phrase:
    if message.phrase is None:
        raise PermanentFailure(None, "NO_TEMPLATE: this message has no catalog entry")
    return message.phrase


class _TemplateChannel:
    """Either channel: the gateway, the codes of the registered templates and the
    longest value a template's variable takes."""

    def __init__(self, gateway: AliyunGateway, codes: Mapping[str, str], variable_max: int) -> None:
        self._gateway = gateway
        self._codes = codes
        self._max = variable_max
        self._unregistered: set[str] = set()  # link templates missing: said once each

    def _template(self, phrase: Phrase, language: str) -> tuple[str, dict[str, str]]:
        """The code of the phrase's template in `language`, and its variables."""
        code = _code(phrase.key, language, self._codes)
        return code, templates.params(phrase, language, self._max)


class AliyunSmsChannel(_TemplateChannel):
    async def send(self, message: Outgoing) -> str | None:
        phrase = _phrase(message)
        params = templates.params(phrase, message.language, self._max)
        linked = self._with_link(phrase.key, message)
        if linked is None:
            code = _code(phrase.key, message.language, self._codes)
        else:
            code, params[templates.LINK] = linked
        biz_id = await self._gateway.send_sms(
            _phone(message), code, params, out_id=str(message.notification_id)
        )
        return PREFIX + biz_id

    def _with_link(self, key: str, message: Outgoing) -> tuple[str, str] | None:
        """The code of the template that ends with the responder link and the link's
        token, when this SMS carries one and the token goes whole; else None: the
        template without it (a link is never cut, and no SMS fails for want of one)."""
        token = message.link
        if token is None or key not in templates.LINKED:
            return None
        if not templates.link_fits(token, self._max):
            return None
        name = templates.code_name(key, message.language, link=True)
        code = self._codes.get(name)
        if not code:
            if name not in self._unregistered:
                self._unregistered.add(name)
                log.warning(
                    "no Alibaba Cloud template for %s: its SMS go without the responder "
                    "link (dispatcher templates --provider aliyun prints it)",
                    name,
                )
            return None
        return code, token

    async def answer(self, phone: str, phrase: Phrase, language: str) -> str:
        """An answer to a reply: an SMS of its own (no notification row)."""
        code, params = self._template(phrase, language)
        return await self._gateway.send_sms(phone, code, params, out_id="reply")


class AliyunVoiceChannel(_TemplateChannel):
    async def send(self, message: Outgoing) -> str | None:
        language = message.language
        code, params = self._template(_phrase(message), language)
        start = Key("", code, params)
        keys = [Key(k, _code(said, language, self._codes)) for k, said in CALL_KEYS.items()]
        keys.append(Key("9", code, params))  # hear it again
        call_id = await self._gateway.ivr_call(
            _phone(message),
            start,
            keys,
            bye_code=_code("voice.no_key", language, self._codes),
            out_id=str(message.notification_id),
        )
        return PREFIX + call_id
