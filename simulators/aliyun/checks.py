"""What Alibaba Cloud checks of a request, as pure functions: the ACS3-HMAC-SHA256
signature made with the access key secret, a mainland number, a known sign name and
template, and every variable present, not empty, within its length and no web address
(a link's address is the template's own text; a variable holds its token at most).
Each refusal is the error code Alibaba Cloud documents for it."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

ALGORITHM = "ACS3-HMAC-SHA256"
MAINLAND = re.compile(r"^1[3-9]\d{9}$")  # what PhoneNumbers / CalledNumber take
VARIABLE = re.compile(r"\$\{(\w+)\}")
ADDRESS = re.compile(r"(?i)(\w+://|www\.)")  # a web address in a variable


class Refused(Exception):  # noqa: N818 - Alibaba Cloud's word is the code
    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


def canonical_query(pairs: Sequence[tuple[str, str]]) -> str:
    return "&".join(f"{k}={quote(v, safe='~')}" for k, v in sorted(pairs))


def check_signature(
    *,
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    key_id: str,
    secret: str,
) -> None:
    """Recompute the request's signature (V3) from what arrived; refuse as Alibaba Cloud does."""
    auth = headers.get("authorization", "")
    match = re.fullmatch(
        rf"{ALGORITHM} Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)", auth
    )
    if match is None:
        raise Refused("MissingAuthorization", "no ACS3-HMAC-SHA256 Authorization", 400)
    credential, signed, signature = match.groups()
    if credential != key_id:
        raise Refused("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
    payload = hashlib.sha256(body).hexdigest()
    if headers.get("x-acs-content-sha256", "") != payload:
        raise Refused("IncompleteSignature", "x-acs-content-sha256 is not the body's", 400)
    names = signed.split(";")
    if "host" not in names or "x-acs-date" not in names:
        raise Refused("IncompleteSignature", "host and x-acs-date must be signed", 400)
    lines = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in names)
    canonical = f"{method}\n{path or '/'}\n{canonical_query(query)}\n{lines}\n{signed}\n{payload}"
    to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    expected = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Refused("SignatureDoesNotMatch", "Specified signature is not matched.", 400)


@dataclass(frozen=True, slots=True)
class Template:
    code: str
    code_name: str
    kind: str  # sms, voice
    text: str  # with ${name} variables

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(VARIABLE.findall(self.text)))

    def fill(self, params: Mapping[str, str]) -> str:
        return VARIABLE.sub(lambda m: params.get(m.group(1), ""), self.text)


def check_number(number: str, *, voice: bool = False) -> None:
    if not MAINLAND.match(number):
        code = "isv.MOBILE_NUMBER_ILLEGAL"
        raise Refused(
            code, f"{'CalledNumber' if voice else 'PhoneNumbers'} {number!r} is not valid"
        )


def check_params(
    template: Template,
    raw: str | None,
    limit: int,
    *,
    missing: str = "isv.TEMPLATE_MISSING_PARAMETERS",
) -> dict[str, str]:
    """The template's variables from their JSON: all present, not empty, within `limit`."""
    if not template.variables:
        return {}
    try:
        params = json.loads(raw or "")
    except ValueError:
        raise Refused("isv.INVALID_JSON_PARAM", "the template parameters are not JSON") from None
    if not isinstance(params, dict):
        raise Refused("isv.INVALID_JSON_PARAM", "the template parameters are not an object")
    for name in template.variables:
        value = params.get(name)
        if not isinstance(value, str) or not value.strip():
            raise Refused(missing, f"variable {name} is missing or empty")
        if len(value) > limit:
            raise Refused("isv.PARAM_LENGTH_LIMIT", f"variable {name} is over {limit} characters")
        if ADDRESS.search(value):
            raise Refused("isv.PARAM_NOT_SUPPORT_URL", f"variable {name} holds a web address")
    return {k: str(v) for k, v in params.items()}


def menu(query: Mapping[str, str]) -> dict[str, tuple[str, str | None]]:
    """MenuKeyMap.N.Key / .Code / .TtsParams, flattened by the SDK: key -> (code, params)."""
    found: dict[str, tuple[str, str | None]] = {}
    n = 1
    while f"MenuKeyMap.{n}.Key" in query:
        found[query[f"MenuKeyMap.{n}.Key"]] = (
            query.get(f"MenuKeyMap.{n}.Code", ""),
            query.get(f"MenuKeyMap.{n}.TtsParams"),
        )
        n += 1
    return found
