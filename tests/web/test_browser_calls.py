"""An operator at a 1366x768 screen calls the resident from the alarm view, in a real
headless Chromium, through the Twilio stand-in (docs/api.md): the button beside the
resident's phone rings the operator's phone first, then the resident's; the timeline
says who answered and for how long, in Chinese, and in English for an English screen.
Every call button stays inside its card.

Screenshots land in artifacts/ (not committed): alarm-call-zh.png, alarm-call-en.png."""

from __future__ import annotations

from playwright.async_api import Page, expect
from sqlalchemy import update

from devices.events import EventType
from dispatcher.store.models import Resident
from dispatcher.users.accounts import Role
from harness.ports import free_port
from harness.service import add_user, only_alarm, running
from simulators.terminal import SimulatedTerminal
from simulators.twilio.standin import TwilioStandIn
from tests.notify.conftest import OUR_NUMBER
from tests.web.test_browser import (
    ARTIFACTS,
    BROKER,
    SettingsFor,
    a_night_in_kangqiao,
    chromium,
    log_in,
)

OPERATOR_PHONE = "+8613800000009"
RESIDENT_PHONE = "+8613700000001"

# the call buttons that overflow their card, or the screen (a list of their targets)
OVERFLOWING = """() => [...document.querySelectorAll("button.call")].filter((b) => {
  const box = b.getBoundingClientRect();
  const card = b.closest(".card").getBoundingClientRect();
  return box.right > card.right || box.right > window.innerWidth;
}).map((b) => b.dataset.call)"""


async def calls_visible(page: Page) -> None:
    for target in ("resident", "contact:1", "contact:2", "worker:w-day", "worker:w-night"):
        await expect(page.locator(f'button.call[data-call="{target}"]')).to_be_visible()
    assert await page.evaluate(OVERFLOWING) == []


async def test_an_operator_calls_the_resident_from_the_alarm_view(
    sqlite_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    async with TwilioStandIn(step_s=0.005) as standin:
        settings = settings_for(
            sqlite_url,
            http={"host": "127.0.0.1", "port": port},
            notifications={
                "provider": "twilio",
                "public_url": f"http://127.0.0.1:{port}",
                "twilio": {
                    "api_base": standin.base_url,
                    "account_sid": standin.account_sid,
                    "auth_token": standin.auth_token,
                    "from_number": OUR_NUMBER,
                },
            },
        )
        standin.person(RESIDENT_PHONE).talks(95)
        async with running(settings, http=True) as service, chromium() as browser:
            await a_night_in_kangqiao(service)
            await add_user(service, "op3", Role.OPERATOR, phone=OPERATOR_PHONE)
            async with service.sessions.begin() as session:
                await session.execute(
                    update(Resident).where(Resident.id == "r-0001").values(phone=RESIDENT_PHONE)
                )
            async with SimulatedTerminal(BROKER, topic_prefix, "T-0001") as terminal:
                await terminal.press(EventType.SOS)
            alarm = await only_alarm(service)

            page = await log_in(browser, service, "op3")
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.set_viewport_size({"width": 1366, "height": 768})
            await page.goto(f"/alarms/{alarm.id}")
            await calls_visible(page)

            await page.click('button.call[data-call="resident"]')
            await expect(page.locator("#toast")).to_contain_text(
                f"正在呼叫您的电话 {OPERATOR_PHONE}，接听后为您接通王秀英"
            )
            timeline = page.locator("#timeline")
            await expect(timeline).to_contain_text("先拨op3的电话，再接通王秀英（居民）")
            await expect(timeline).to_contain_text("王秀英（居民）接听，通话1分35秒")
            await page.screenshot(path=ARTIFACTS / "alarm-call-zh.png", full_page=True)

            # the stand-in saw the operator's phone called first, the resident's dialled
            made = [r for r in standin.requests if r.path.endswith("/Calls.json")]
            assert [r.get("To") for r in made] == [OPERATOR_PHONE]
            dialled = [c for c in standin.callbacks if c.kind == "dial-status"]
            assert {c.get("To") for c in dialled} == {RESIDENT_PHONE}
            assert standin.call_problems == []

            await page.goto(f"/lang/en?next=/alarms/{alarm.id}")
            await calls_visible(page)
            await expect(page.locator('button.call[data-call="resident"]')).to_have_text("Call")
            await expect(page.locator("#timeline")).to_contain_text(
                "王秀英 (resident) answered and talked for 1 min 35 s"
            )
            await page.screenshot(path=ARTIFACTS / "alarm-call-en.png", full_page=True)
            assert errors == []
