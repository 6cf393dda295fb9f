"""The responder's page in a real headless Chromium with a phone's viewport (docs/api.md,
"The responder's page"): the night worker opens the link of the SMS the Twilio stand-in
received, reads who, where and what, presses 我去 and then 已到达; the alarm is taken and
reached by that worker. The page fits the phone's width in Chinese and in English.

Screenshots land in artifacts/ (not committed): responder-zh.png (as opened),
responder-taken-zh.png, responder-arrived-zh.png, responder-en.png."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect
from sqlalchemy import update

from dispatcher.store.models import Resident
from harness.mqtt import wait_for
from tests.notify.conftest import NIGHT_WORKER, PhoneCity
from tests.notify.test_phone_story import alarm, numbers_texted, press
from tests.notify.test_responder_link import link_in_sms
from tests.web.test_browser import ARTIFACTS, chromium

# the page wider than the phone: a horizontal scroll nobody sees at a door
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


async def phone(browser: Browser, base: str) -> Page:
    context = await browser.new_context(
        base_url=base,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    return await context.new_page()


async def test_the_night_worker_takes_and_reaches_it_on_a_phone(phone_city: PhoneCity) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pc = phone_city
    pc.standin.person(NIGHT_WORKER).never_answers()
    async with pc.service.sessions.begin() as session:
        await session.execute(
            update(Resident)
            .where(Resident.id == "r-0001")
            .values(phone="+8613700000001", lat=36.6674, lon=116.972)
        )
    alarm_id = await press(pc, pc.city.terminals[0], "sos-phone")
    pc.clock.advance(60)
    await wait_for(lambda: NIGHT_WORKER in numbers_texted(pc))
    path = link_in_sms(pc, NIGHT_WORKER)
    suffix = pc.service.settings.database.url.split(":")[0].split("+")[0]
    async with chromium() as browser:
        page = await phone(browser, pc.service.settings.notifications.public_url)
        await page.goto(path)
        await expect(page.locator("h1")).to_have_text("居民1")
        await expect(page.locator(".r-what")).to_have_text("按下紧急呼叫")
        await expect(page.locator(".r-medical")).to_contain_text("高血压")
        await expect(page.locator(".r-state")).to_contain_text("还没有人接手")
        tel = page.get_by_role("link", name="+8613700000001")
        await expect(tel).to_have_attribute("href", "tel:+8613700000001")
        where = page.get_by_role("link", name="在地图上打开")
        await expect(where).to_have_attribute(
            "href", "geo:36.667400,116.972000?q=36.667400,116.972000"
        )
        assert await page.evaluate(OVERFLOW) <= 0
        await page.screenshot(path=ARTIFACTS / f"responder-zh-{suffix}.png", full_page=True)

        await page.get_by_role("button", name="我去").click()
        await expect(page.locator(".r-said")).to_contain_text("已记录：由您前往")
        await expect(page.locator(".r-state")).to_contain_text("已由刘军接手")
        await expect(page.get_by_role("button", name="我去")).to_have_count(0)
        taken = await alarm(pc, alarm_id)
        assert (taken.status, taken.acknowledged_by) == ("acknowledged", "刘军")
        await page.screenshot(path=ARTIFACTS / f"responder-taken-zh-{suffix}.png", full_page=True)

        await page.get_by_role("button", name="已到达").click()
        await expect(page.locator(".r-said")).to_contain_text("已记录您到达现场")
        await expect(page.locator(".r-state")).to_contain_text("刘军已到达现场")
        reached = await alarm(pc, alarm_id)
        assert reached.arrived_by == "刘军"
        assert reached.arrived_at is not None
        await page.screenshot(path=ARTIFACTS / f"responder-arrived-zh-{suffix}.png", full_page=True)

        await page.get_by_role("link", name="English").click()
        await expect(page.locator(".r-state")).to_contain_text("Taken by 刘军")
        await expect(page.locator(".r-state")).to_contain_text("刘军 is at the door")
        assert await page.evaluate(OVERFLOW) <= 0
        await page.screenshot(path=ARTIFACTS / f"responder-en-{suffix}.png", full_page=True)

        await page.goto("/r/" + "x" * 22)
        await expect(page.locator("body")).to_have_text("链接无效或已过期")
