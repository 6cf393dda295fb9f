"""The supervisors' and operators' pages of issue 11 in a real headless Chromium: the
reports with their charts drawn against the targets, the history with its filters and a
closed alarm opened from it, and the audit log that the operator's look shows up in
(and that the operator may not open).

Screenshots land in artifacts/: reports.png, history.png, audit.png."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, expect

from dispatcher.app import Service
from dispatcher.config import Settings
from dispatcher.rules.alarms import Outcome
from dispatcher.rules.policy import AlarmKind
from dispatcher.store.alarms import close_alarm, open_alarm, opened_entry
from dispatcher.store.event_log import log_entry
from dispatcher.store.models import Community, Resident, Terminal
from dispatcher.users.accounts import Role
from harness.city import seed_city
from harness.service import add_user, running
from tests.web.test_browser import ARTIFACTS, chromium, log_in

SettingsFor = Callable[..., Settings]
COMMUNITIES = {"kangqiao": ["r-0001", "r-0002", "r-0003"], "yuhua": ["r-0101", "r-0102"]}


async def a_week_of_two_communities(service: Service) -> None:
    """Emergencies each day of the last week, most taken in time, some not."""
    await seed_city(service.sessions, residents=3)
    pick = random.Random(11)
    now = datetime.now(UTC)
    async with service.sessions.begin() as session:
        session.add(Community(id="yuhua", name="玉华社区", street="玉华街道", district="历下区"))
        await session.flush()
        for rid in COMMUNITIES["yuhua"]:
            session.add(
                Resident(id=rid, community_id="yuhua", name=f"张桂兰{rid[-1]}", address="玉华路")
            )
            await session.flush()
            session.add(Terminal(device_id=f"T-{rid[2:]}", resident_id=rid))
        for days_ago in range(7):
            for community, residents in COMMUNITIES.items():
                for n in range(pick.randint(2, 5)):
                    rid = pick.choice(residents)
                    opened = now - timedelta(
                        days=days_ago, hours=2 + n, minutes=pick.randint(0, 50)
                    )
                    alarm = open_alarm(
                        kind=AlarmKind.EMERGENCY if n % 3 else AlarmKind.SERVICE,
                        type_="sos" if n % 3 else "service",
                        priority=1,
                        device_id=f"T-{rid[2:]}",
                        resident_id=rid,
                        community_id=community,
                        now=opened,
                    )
                    session.add(alarm)
                    await session.flush()
                    session.add(
                        opened_entry(alarm, alarm_id=alarm.id, actor="terminal", now=opened)
                    )
                    alarm.acknowledged_at = opened + timedelta(
                        seconds=pick.choice([20, 40, 55, 70, 200])
                    )
                    alarm.acknowledged_by = "op1"
                    alarm.arrived_at = opened + timedelta(minutes=pick.choice([12, 25, 38, 50]))
                    closed = opened + timedelta(minutes=60)
                    session.add(
                        close_alarm(alarm, outcome=Outcome.HELP_GIVEN, by="op1", now=closed)
                    )
                    session.add(
                        log_entry(
                            "note", at=closed, actor="op1", alarm_id=alarm.id, data={"note": "ok"}
                        )
                    )


async def test_reports_history_and_audit_in_the_browser(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with running(settings_for(sqlite_url), http=True) as service, chromium() as browser:
        await a_week_of_two_communities(service)
        await add_user(service, "op1", Role.OPERATOR)
        await add_user(service, "boss", Role.SUPERVISOR)
        errors: list[str] = []

        boss = await log_in(browser, service, "boss")
        boss.on("pageerror", lambda error: errors.append(str(error)))
        await boss.click("nav >> text=统计报表")
        await expect(boss).to_have_url("/reports")
        await expect(boss.locator("body")).to_have_attribute("data-charts", "8")
        await expect(boss.locator("#charts canvas")).to_have_count(8)
        assert await drawn(boss) == 8  # every canvas has ink on it
        await expect(boss.locator("#report tbody tr")).to_have_count(7 * 2)
        await expect(boss.locator("#charts")).to_contain_text("60秒内接警率")
        await expect(boss.locator("#report td.below").first).to_be_visible()  # below target
        # the city against the targets first, then its communities, worst first
        summary = boss.locator("#summary-table tbody tr")
        await expect(summary).to_have_count(3)
        await expect(summary.first).to_have_attribute("data-community", "")
        await expect(summary.first).to_contain_text("全市")
        await expect(boss.locator("#summary-table thead")).to_contain_text("目标 97.5%")
        shortfalls = [
            row["shortfall"]
            for row in await boss.evaluate(
                "async () => (await (await fetch('/api/reports/summary')).json()).communities"
            )
        ]
        assert shortfalls == sorted(shortfalls, reverse=True)
        # counts have whole ticks; the long table keeps its head in sight
        ticks = await boss.evaluate(
            """() => [...document.querySelectorAll('#charts section canvas')]
                 .filter((c) => ['emergencies', 'service', 'checkins_missed']
                   .includes(c.closest('section').dataset.figure))
                 .map((c) => Chart.getChart(c))
                 .flatMap((c) => c.scales.y.ticks.map((t) => t.value))"""
        )
        assert ticks, "no count chart"
        assert all(float(v).is_integer() for v in ticks), ticks
        sticky = await boss.evaluate(
            "getComputedStyle(document.querySelector('#report thead th')).position"
        )
        assert sticky == "sticky"
        await boss.set_viewport_size({"width": 1600, "height": 1700})
        await boss.screenshot(path=ARTIFACTS / "reports.png", full_page=True)
        await boss.select_option("#f-community", "yuhua")
        await boss.click("#search")
        await expect(boss.locator("#report tbody tr")).to_have_count(7)
        await expect(boss).to_have_url(
            "/reports?from="
            + await boss.input_value("#f-from")
            + "&to="
            + await boss.input_value("#f-to")
            + "&community=yuhua"
        )

        op = await log_in(browser, service, "op1")
        op.on("pageerror", lambda error: errors.append(str(error)))
        await op.click("nav >> text=历史警情")
        await expect(op.locator("#history tr.alarm").first).to_be_visible()
        await expect(op.locator("#export")).to_be_hidden()  # exports are the supervisors'
        await op.select_option("#f-community", "yuhua")
        await op.select_option("#f-kind", "emergency")
        await op.fill("#f-q", "张桂兰1")
        await op.click("#search")
        await expect(op.locator("body")).to_have_attribute(
            "data-shown", "status=all&community=yuhua&kind=emergency&q=%E5%BC%A0%E6%A1%82%E5%85%B01"
        )
        rows = op.locator("#history tr.alarm")
        await expect(rows.first).to_contain_text("张桂兰1")
        for text in await rows.all_inner_texts():
            assert all(word in text for word in ("张桂兰1", "紧急求助", "玉华社区")), text
        await op.screenshot(path=ARTIFACTS / "history.png")
        await rows.first.locator("a").click()
        await expect(op.locator("#alarm-head")).to_have_attribute("data-status", "resolved")
        await expect(op.locator("#timeline")).to_contain_text("结案")
        # a closed alarm: the operator's work is done, the medical notes are not shown
        await expect(op.locator("#medical")).to_contain_text("仅在该居民有未结警情时")
        await op.goto("/audit")
        await expect(op.locator("h1")).to_have_text("无权访问")

        await boss.goto("/audit?resident_id=r-0101")
        lines = boss.locator("#audit tr.line")
        await expect(lines.first).to_contain_text("op1")
        await expect(lines.first).to_contain_text("查看警情（含档案）")
        await boss.screenshot(path=ARTIFACTS / "audit.png")
        assert errors == []


async def drawn(page: Page) -> int:
    """Canvases with pixels that are not blank."""
    count: int = await page.evaluate(
        """() => [...document.querySelectorAll('#charts canvas')].filter((c) => {
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
             return false;
           }).length"""
    )
    return count


async def test_a_street_supervisor_sees_their_street_in_the_browser(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    """At 1366 x 768 in both languages: the reports of 玉华街道 name it where the city's
    would say 全市 and hold its community alone; the history and the community filter
    know nothing of 康桥社区."""
    ARTIFACTS.mkdir(exist_ok=True)
    async with running(settings_for(sqlite_url), http=True) as service, chromium() as browser:
        await a_week_of_two_communities(service)
        await add_user(service, "yh", Role.SUPERVISOR, scope="street:玉华街道")
        errors: list[str] = []
        for lang, area_row in (("zh-CN", "玉华街道"), ("en", "玉华街道")):
            context = await browser.new_context(
                base_url=f"http://127.0.0.1:{service.http_port}",
                viewport={"width": 1366, "height": 768},
                locale=lang,
                timezone_id="Asia/Shanghai",
            )
            await context.add_cookies(
                [{"name": "dispatcher_lang", "value": lang, "url": context_url(service)}]
            )
            page = await context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto("/login?next=/reports")
            await page.fill("input[name=username]", "yh")
            await page.fill("input[name=password]", "password-123")
            await page.click("button[type=submit]")
            await expect(page).to_have_url("/reports")
            summary = page.locator("#summary-table tbody tr")
            await expect(summary).to_have_count(2)  # the street, then its one community
            await expect(summary.first).to_contain_text(area_row)
            await expect(page.locator("#summary h2")).to_contain_text("玉华街道")
            await expect(page.locator("header.top .who .area")).to_have_text("玉华街道")
            await expect(page.locator("#report tbody tr")).to_have_count(7)
            await expect(page.locator("#report")).not_to_contain_text("康桥")
            options = await page.locator("#f-community option").all_inner_texts()
            assert not any("康桥" in o for o in options), options
            await page.screenshot(path=ARTIFACTS / f"reports-street-{lang}.png")
            await page.goto("/history")
            await expect(page.locator("#history tr.alarm").first).to_be_visible()
            for text in await page.locator("#history tr.alarm").all_inner_texts():
                assert "玉华社区" in text, text
                assert "康桥" not in text, text
            await context.close()
        assert errors == []


def context_url(service: Service) -> str:
    return f"http://127.0.0.1:{service.http_port}"
