"""`notifications.routes`, `failover_s` and `aliyun`: parsed once, refused clearly when a
route names a provider whose keys are missing, overridable from the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dispatcher.config import load_settings
from dispatcher.rules.routes import Route

ALIYUN = {
    "access_key_id": "LTAI-x",
    "access_key_secret": "s",
    "sign_name": "sign",
    "callback_token": "t",
}
TWILIO = {"account_sid": "AC1", "auth_token": "a", "from_number": "+8653188880000"}
ROUTES = [{"prefix": "+86", "provider": "aliyun"}, {"prefix": "", "provider": "twilio"}]


def test_the_embedded_default_has_no_routes_and_fails_over_after_120_s() -> None:
    n = load_settings().notifications
    assert n.route_table() == ()
    assert n.failover_s == 120
    assert n.aliyun.variable_max == 35


def test_routes_name_their_providers_whose_keys_must_be_there() -> None:
    n = load_settings(
        notifications={
            "public_url": "http://x",
            "routes": ROUTES,
            "aliyun": ALIYUN,
            "twilio": TWILIO,
        }
    ).notifications
    assert n.route_table() == (Route("+86", "aliyun"), Route("", "twilio"))
    assert n.providers() == {"log", "aliyun", "twilio"}
    with pytest.raises(ValidationError, match=r"aliyun needs notifications\.aliyun\.sign_name"):
        load_settings(
            notifications={
                "public_url": "http://x",
                "routes": ROUTES,
                "aliyun": ALIYUN | {"sign_name": ""},
                "twilio": TWILIO,
            }
        )
    with pytest.raises(ValidationError, match="twilio needs"):
        load_settings(notifications={"routes": ROUTES, "aliyun": ALIYUN})
    with pytest.raises(ValidationError):
        load_settings(notifications={"routes": [{"prefix": "+86", "provider": "carrier-pigeon"}]})


def test_the_environment_sets_routes_and_templates_as_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISPATCHER_NOTIFICATIONS__PROVIDER", "aliyun")
    monkeypatch.setenv("DISPATCHER_NOTIFICATIONS__ROUTES", '[{"prefix": "+44", "provider": "log"}]')
    for key, value in ALIYUN.items():
        monkeypatch.setenv(f"DISPATCHER_NOTIFICATIONS__ALIYUN__{key.upper()}", value)
    monkeypatch.setenv("DISPATCHER_NOTIFICATIONS__ALIYUN__TEMPLATES", '{"sms_step": "SMS_1"}')
    n = load_settings().notifications
    assert n.route_table() == (Route("+44", "log"),)
    assert n.aliyun.templates == {"sms_step": "SMS_1"}
