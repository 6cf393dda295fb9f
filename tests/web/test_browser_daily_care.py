"""Daily care on the operators' screens, in Debian's headless Chromium: an operator sends
a provider from the alarm view of a green-button press and records how far it is; a
supervisor pauses a resident's check-ins on the resident's page, and the check-in list
shows it; a power cut's outage alarm lists its terminals and counts those back.

Screenshots in artifacts/: service-dispatch.png (the alarm view with the community's
providers, one sent), checkin-pause.png (the resident's check-in card, paused),
checkins-today.png (today's list), outage.png (an outage and its members)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.async_api import expect
from sqlalchemy import update

from devices.events import EventType
from dispatcher.app import Service
from dispatcher.config import Settings
from dispatcher.store.models import Provider, Resident
from dispatcher.users.accounts import Role
from harness.city import seed_city
from harness.service import add_user, running
from simulators.terminal import SimulatedTerminal
from tests.web.test_browser import ARTIFACTS, BROKER, chromium, log_in
from tests.web.test_browser_calls import OVERFLOWING

SettingsFor = Callable[..., Settings]
CIRCLE = [
    ("p-meal", "康桥老年餐桌", "meals", "+8613872620224"),
    ("p-clean", "康桥家政服务站", "housekeeping", "+8613819750596"),
    ("p-fix", "纬北路便民维修部", "repairs", "+8613822405808"),
    ("p-escort", "康桥陪诊服务队", "medical_escort", "+8613838092353"),
    ("p-shop", "康桥社区便利店", "shopping", "+8613852825127"),
]


async def a_day_in_kangqiao(service: Service) -> None:
    await seed_city(service.sessions, residents=3)
    async with service.sessions.begin() as session:
        session.add_all(
            Provider(id=i, community_id="kangqiao", name=n, category=c, phone=p)
            for i, n, c, p in CIRCLE
        )
        await session.execute(
            update(Resident)
            .where(Resident.id == "r-0001")
            .values(name="王秀英", address="天桥区纬北路12号3单元201", checkin_window="07:00-10:00")
        )
        await session.execute(
            update(Resident).where(Resident.id == "r-0002").values(checkin_window="08:00-11:00")
        )
    await add_user(service, "op1", Role.OPERATOR)
    await add_user(service, "sup1", Role.SUPERVISOR)


async def test_daily_care_on_the_screens(
    sqlite_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    # a small community: three terminals down together are an outage here
    settings = settings_for(sqlite_url, outage={"min_terminals": 3})
    async with running(settings, http=True) as service, chromium() as browser:
        await a_day_in_kangqiao(service)
        op = await log_in(browser, service, "op1")
        errors: list[str] = []
        op.on("pageerror", lambda error: errors.append(str(error)))

        # the green button: the operator picks a provider of the circle and sends it
        async with SimulatedTerminal(BROKER, topic_prefix, "T-0002") as terminal:
            await terminal.press(EventType.SERVICE)
        row = op.locator("tr.kind-service")
        await expect(row).to_have_count(1)
        await row.locator("a.open").click()
        providers = op.locator("#providers tr")
        await expect(providers).to_have_count(5)
        repairs = op.locator("#providers tr[data-provider=p-fix]")
        await expect(repairs).to_contain_text("138 2240 5808")
        await expect(repairs).to_contain_text("维修")
        await repairs.locator("button.dispatch").click()
        await expect(op.locator("#service-flag")).to_contain_text(
            "纬北路便民维修部 · 已派单，待接单"
        )
        await expect(op.locator("#timeline")).to_contain_text("派单给服务商")
        await expect(op.locator("#alarm-head")).to_have_attribute("data-status", "acknowledged")
        await op.click("#service-states button[data-state=on_the_way]")
        await expect(op.locator("#service-flag")).to_contain_text("在路上")
        await expect(op.locator("#notifications")).to_contain_text("纬北路便民维修部")
        await op.set_viewport_size({"width": 1366, "height": 768})  # a call centre's screen
        await expect(op.locator('button.call[data-call="provider:p-fix"]')).to_be_visible()
        assert await op.evaluate(OVERFLOWING) == []
        await op.screenshot(path=ARTIFACTS / "service-dispatch-1366.png")
        await op.set_viewport_size({"width": 1600, "height": 1200})
        await op.evaluate("window.scrollTo(0, 0)")
        await op.screenshot(path=ARTIFACTS / "service-dispatch.png")
        await op.click("#arrived")  # the provider at the door, not the operator
        await op.fill("#arrived-who", "纬北路便民维修部")
        await op.click("#arrived-confirm")
        await expect(op.locator("#arrived-flag")).to_contain_text("纬北路便民维修部 已到达")

        # a supervisor pauses 王秀英's check-ins: she is in hospital until the 9th
        sup = await log_in(browser, service, "sup1")
        await sup.goto("/residents/r-0001")
        await expect(sup.locator("#checkin-window")).to_have_value("07:00-10:00")
        await sup.fill("#checkin-until", "2026-12-09")
        await sup.fill("#checkin-reason", "住院")
        await sup.click("#checkin-save")
        await expect(sup.locator("#checkin-state")).to_have_text("已暂停")
        await expect(sup.locator("#checkin-paused")).to_contain_text("2026-12-09 · 住院")
        await sup.screenshot(path=ARTIFACTS / "checkin-pause.png")
        await sup.click("nav >> text=报平安")
        await expect(sup.locator("#checkins tr[data-resident=r-0001]")).to_have_attribute(
            "data-state", "paused"
        )
        await expect(sup.locator("#checkins tr[data-resident]")).to_have_count(2)
        await sup.screenshot(path=ARTIFACTS / "checkins-today.png")
        # an operator sees the card and cannot edit it
        await op.goto("/residents/r-0001")
        await expect(op.locator("#checkin-state")).to_have_text("已暂停")
        await expect(op.locator("#checkin-save")).to_have_count(0)

        # a power cut: the three terminals of 康桥 report it; one alarm lists them
        await op.goto("/queue")
        for device in ("T-0001", "T-0002", "T-0003"):
            async with SimulatedTerminal(BROKER, topic_prefix, device) as terminal:
                await terminal.press(EventType.POWER_LOST)
        outage = op.locator("tr.kind-device")
        await expect(outage).to_have_count(1)
        await expect(outage).to_contain_text("3台终端")
        await outage.locator("a.open").click()
        await expect(op.locator("#outage-members tr")).to_have_count(3)
        await expect(op.locator("#outage-members")).to_contain_text("王秀英")
        await expect(op.locator("#outage-summary")).to_contain_text("仍离线/断电3台")
        # one has power again (and stays connected: back is online and powered)
        async with SimulatedTerminal(BROKER, topic_prefix, "T-0003") as terminal:
            await terminal.press(EventType.POWER_RESTORED)
            await expect(op.locator("#outage-summary")).to_contain_text("已恢复1台")
            await expect(op.locator("#outage-members tr.back")).to_have_count(1)
            await op.screenshot(path=ARTIFACTS / "outage.png")
        assert errors == []
