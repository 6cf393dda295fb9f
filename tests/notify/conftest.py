"""A city whose phones are simulated by the Twilio stand-in, over real HTTP both ways."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dispatcher.app import Service
from dispatcher.clock import ManualClock
from dispatcher.config import Settings
from harness.city import SmallCity, seed_city
from harness.ports import free_port
from harness.service import running
from simulators.twilio.standin import TwilioStandIn

AT_3AM = datetime(2026, 11, 27, 3, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
OUR_NUMBER = "+8653188880000"
NIGHT_WORKER = "+8613800000002"


def contact_phone(resident: int, priority: int) -> str:
    """The phones `seed_city` gives contacts."""
    return f"+86139{resident:04d}000{priority}"


@dataclass
class PhoneCity:
    service: Service
    standin: TwilioStandIn
    clock: ManualClock
    city: SmallCity


@pytest.fixture
def phone_settings(
    settings_for: Callable[..., Settings], db_url: str
) -> Callable[..., tuple[Settings, int]]:
    def make(
        standin: TwilioStandIn,
        *,
        port: int | None = None,
        twilio_timeout_s: float = 5.0,
        **overrides: Any,
    ) -> tuple[Settings, int]:
        """`port`: the service's, when something must know its address first.
        `twilio_timeout_s`: how long the gateway waits for the stand-in, which answers at
        once but may take a second on a busy machine (a retry then waits on the test's
        manual clock, which nobody advances): shorter only to test the timeout."""
        port = port or free_port()
        settings = settings_for(
            db_url,
            http={"host": "127.0.0.1", "port": port},
            notifications={
                "provider": "twilio",
                "public_url": f"http://127.0.0.1:{port}",
                "twilio": {
                    "api_base": standin.base_url,
                    "account_sid": standin.account_sid,
                    "auth_token": standin.auth_token,
                    "from_number": OUR_NUMBER,
                    "timeout_s": twilio_timeout_s,
                },
                **overrides.pop("notifications", {}),
            },
            **overrides,
        )
        return settings, port

    return make


@pytest.fixture
async def phone_city(
    phone_settings: Callable[..., tuple[Settings, int]], request: pytest.FixtureRequest
) -> AsyncIterator[PhoneCity]:
    """A small city on the Twilio stand-in; `@pytest.mark.twilio_timeout_s(S)` sets the
    gateway's timeout (a test of the timeout itself)."""
    marker = request.node.get_closest_marker("twilio_timeout_s")
    timeout_s = float(marker.args[0]) if marker is not None else 5.0
    async with TwilioStandIn(step_s=0.005) as standin:
        settings, port = phone_settings(standin, twilio_timeout_s=timeout_s)
        standin.sms_url = f"http://127.0.0.1:{port}/twilio/sms"
        clock = ManualClock(AT_3AM)
        async with running(settings, clock=clock, http=True) as service:
            city = await seed_city(service.sessions)
            yield PhoneCity(service, standin, clock, city)
