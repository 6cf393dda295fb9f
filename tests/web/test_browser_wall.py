"""The wallboard and the map in a real headless Chromium (docs/api.md), with the
reports' simulated week loaded and a Monday morning after it: an emergency nobody has
taken, a service request under way, terminals gone silent. The wall shows the figures of
`GET /api/wall` and changes without a reload when a new emergency comes in; the map puts
each open alarm and offline terminal at its resident's home, and a click opens the
alarm. At 1366 x 768 and on a large screen, in Chinese and in English.

Screenshots land in artifacts/ (not committed): wall-zh.png, wall-en.png,
wall-zh-1920.png, map-zh.png, map-en.png."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Browser, Page, expect
from sqlalchemy import update

from dispatcher.app import Service
from dispatcher.clock import ManualClock
from dispatcher.store.models import Community, Resident
from dispatcher.users.accounts import Role
from harness.mqtt import event, raw_peer, wait_for
from harness.service import add_user, api_client, running
from tests.reports.test_week import (
    COMMUNITY_OF,
    MOSQUITTO,
    WEEK,
    SettingsFor,
    Week,
    at,
    seed,
)
from tests.web.test_browser import ARTIFACTS, chromium

# Latin-letter words on a Chinese page, outside ids (T-0001), units and numbers
LATIN = re.compile(r"[A-Za-z]{2,}")


async def screen(
    browser: Browser, service: Service, lang: str, width: int = 1366, height: int = 768
) -> Page:
    base = f"http://127.0.0.1:{service.http_port}"
    context = await browser.new_context(
        base_url=base, viewport={"width": width, "height": height}, timezone_id="Asia/Shanghai"
    )
    await context.add_cookies([{"name": "dispatcher_lang", "value": lang, "url": base}])
    page = await context.new_page()
    await page.goto("/login?next=/wall")
    await page.fill("input[name=username]", "boss")
    await page.fill("input[name=password]", "password-123")
    await page.click("button[type=submit]")
    await expect(page).to_have_url("/wall")
    return page


async def monday_morning(service: Service, clock: ManualClock, topic_prefix: str) -> None:
    """The week, then homes on the map and a morning with something to show."""
    async with (
        raw_peer(MOSQUITTO, topic_prefix) as peer,
        api_client(service, "op1") as api,
        api_client(service, "boss") as boss,
    ):
        week = Week(service, clock, peer, api, boss)
        for when, what, device, detail in sorted(WEEK, key=lambda s: at(s[0])):
            await week.step(at(when), what, device, detail)
        async with service.sessions.begin() as session:
            for community_id, name in (("kangqiao", "康桥社区"), ("yuhua", "玉华社区")):
                await session.execute(
                    update(Community).where(Community.id == community_id).values(name=name)
                )
            for i, device in enumerate(sorted(COMMUNITY_OF)):
                north = 0.004 * (i % 4) + (0.02 if COMMUNITY_OF[device] == "yuhua" else 0)
                await session.execute(
                    update(Resident)
                    .where(Resident.id == f"r-{device[2:]}")
                    .values(lat=36.66 + north, lon=116.97 + 0.005 * i)
                )
        await week.step(at("10-26 09:00"), "press", "T-0001", "sos")
        await week.step(at("10-26 09:02"), "press", "T-0003", "service")
        await week.step(at("10-26 09:03"), "take", "T-0003", "")
        await week.step(at("10-26 09:04"), "press", "T-0002", "sos")
        await week.step(at("10-26 09:05"), "take", "T-0002", "")


async def wall_of(service: Service) -> dict[str, Any]:
    async with api_client(service, "boss") as boss, boss.get("/api/wall") as response:
        assert response.status == 200
        found: dict[str, Any] = await response.json()
        return found


def latin_words(text: str) -> list[str]:
    return [w for w in LATIN.findall(text) if not re.fullmatch(r"T|r|min|s", w)]


async def test_the_wall_and_the_map_after_a_week(
    sqlite_url: str, settings_for: SettingsFor, topic_prefix: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    clock = ManualClock(at("10-18 23:00"))
    settings = settings_for(
        sqlite_url,
        alarms={"cancel_closes_emergency": True},
        http={"token_ttl_s": 30 * 86400},
        heartbeat={"interval_s": 3600, "offline_after_missed": 1},
        outage={"min_terminals": 2, "window_s": 600},
    )
    async with running(settings, clock=clock, http=True) as service, chromium() as browser:
        await seed(service)
        await add_user(service, "op1", Role.OPERATOR)
        await add_user(service, "boss", Role.SUPERVISOR)
        await monday_morning(service, clock, topic_prefix)
        figures = await wall_of(service)
        opened = figures["open_emergencies"]
        assert opened >= 2  # this morning's two, and any the week left open
        assert figures["longest_wait_s"] >= 300  # T-0001's, untaken since 09:00
        assert figures["terminals_offline"] > 0

        page = await screen(browser, service, "zh-CN")
        await expect(page.locator("body")).to_have_attribute("data-wall-ready", "1")
        await expect(page.locator("#w-open .figure")).to_have_text(str(opened))
        await expect(page.locator("#w-wait .figure")).to_contain_text("分")
        await expect(page.locator("#w-offline .figure")).to_have_text(
            str(figures["terminals_offline"])
        )
        await expect(page.locator("#wall-communities tbody tr")).to_have_count(2)
        assert latin_words(await page.locator("main").inner_text()) == []
        await page.screenshot(path=ARTIFACTS / "wall-zh.png")

        # live: a new emergency shows without a reload
        async with raw_peer(MOSQUITTO, topic_prefix) as peer:
            await peer.publish("T-0101", "event", event("wall-live", "sos"))
            assert (await peer.next_ack())[1]["result"] == "accepted"
        await expect(page.locator("#w-open .figure")).to_have_text(str(opened + 1))

        big = await screen(browser, service, "zh-CN", 1920, 1080)
        await expect(big.locator("#w-open .figure")).to_have_text(str(opened + 1))
        await big.screenshot(path=ARTIFACTS / "wall-zh-1920.png")
        english = await screen(browser, service, "en")
        await expect(english.locator("#w-open .label")).to_have_text("Emergencies open")
        await english.screenshot(path=ARTIFACTS / "wall-en.png")

        map_page = page
        await map_page.goto("/map")
        async with api_client(service, "op1") as op, op.get("/api/map") as response:
            markers = (await response.json())["markers"]
        placed = sum(1 for m in markers if m["lat"] is not None)
        assert placed == len(markers)  # every home has its place
        # the silent terminals: each by its own offline alarm, or as a terminal offline
        assert {m["kind"] for m in markers} >= {"emergency", "service", "device"}
        await wait_for(lambda: _at_least(map_page, placed), within=10)
        await expect(map_page.locator("#map-note")).to_be_visible()  # no tiles configured
        assert latin_words(await map_page.locator(".map-side").inner_text()) == []
        await map_page.screenshot(path=ARTIFACTS / "map-zh.png")
        english_map = english
        await english_map.goto("/map")
        await wait_for(lambda: _at_least(english_map, placed), within=10)
        await english_map.screenshot(path=ARTIFACTS / "map-en.png")

        # a click on an untaken emergency's dot (drawn last: on top) opens its alarm
        await map_page.locator("path.leaflet-interactive").last.click()
        await expect(map_page).to_have_url(re.compile(r"/alarms/\d+$"))


async def _at_least(page: Page, markers: int) -> bool:
    ready = await page.locator("body").get_attribute("data-map-ready")
    return ready is not None and int(ready) >= markers
