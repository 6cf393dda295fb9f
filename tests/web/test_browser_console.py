"""What an operator, a supervisor and an admin meet on the console at 1366 x 768, the
call centre's common screen, in Chinese and in English (issue 18 §1), in a real headless
Chromium: one service and one browser for the module.

- the header stays on one line for every role, with the "enable alarm sound" button showing;
- a walk over every page and every kind of alarm finds no Latin-letter word on a Chinese
  page outside names, ids, phones, units and key names;
- a single click on a queue row opens the alarm; a closed alarm's age stops at its
  close; times are the city's (Asia/Shanghai) in a browser set to UTC; phones are grouped;
  a device alarm offers neither 已呼叫120 nor 已到达现场; an operator's 已到达 names who.

Screenshots land in artifacts/ (gitignored): console-header-*.png, console-*.png."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatcher.app import Service
from dispatcher.config import Settings
from dispatcher.rules.alarms import Outcome
from dispatcher.rules.policy import AlarmKind
from dispatcher.store.alarms import close_alarm, open_alarm, opened_entry
from dispatcher.store.audit import AuditAction
from dispatcher.store.event_log import log_entry
from dispatcher.store.models import (
    AuditEntry,
    Notification,
    OutageMember,
    PhoneOptOut,
    Provider,
    Resident,
    Terminal,
)
from dispatcher.users.accounts import Role
from harness.city import seed_city
from harness.service import add_user, api_client, running
from tests.web.test_browser import ARTIFACTS, chromium

SettingsFor = Callable[..., Settings]
SCREEN: ViewportSize = {"width": 1366, "height": 768}
USERS = {"op1": Role.OPERATOR, "sup1": Role.SUPERVISOR, "adm1": Role.ADMIN}
WALL = "wall1"  # the wallboard's account: its header has the wall alone
# a street's administrator: the longest header, its street named beside its role
STREET_ADMIN = "adm-weibei"
# 2026-12-07 04:36 UTC is 12:36 in the city (Asia/Shanghai)
OPENED = datetime(2026, 12, 7, 4, 36, tzinfo=UTC)
# (kind, type, device, closed after minutes or None)
ALARMS = [
    (AlarmKind.EMERGENCY, "sos", "T-0001", None),
    (AlarmKind.EMERGENCY, "fall", "T-0002", 63),
    (AlarmKind.SERVICE, "service", "T-0003", None),
    (AlarmKind.DEVICE, "low_battery", "T-0002", None),
    (AlarmKind.DEVICE, "offline", "T-0003", 30),
    (AlarmKind.CHECKIN, "missed_checkin", "T-0001", None),
]
OUTAGE_ID = len(ALARMS) + 1  # closed: 20 terminals of another street, each down and back
OUTAGE = [f"T-{n:06d}" for n in range(101, 121)]
# what may stand in Latin letters on a Chinese page: key names (the footer), the unit of
# a heart rate or a distance, a file format; `code` (what is typed as written: ids, the
# shifts' syntax) and the language switch ("English") are left out
ALLOWED = {"Enter", "Esc", "km", "bpm", "dBm", "CSV"}


def latin_words(text: str) -> list[str]:
    """Words in Latin letters that are not an id, a login or a phone (those have digits)
    nor one of `ALLOWED`; single letters are key names (J, K, T)."""
    words = re.findall(r"[A-Za-z][A-Za-z0-9_\-.]*", text)
    return [
        w for w in words if len(w) > 1 and not re.search(r"\d", w) and w.rstrip(".") not in ALLOWED
    ]


@pytest.fixture
async def service(sqlite_url: str, settings_for: SettingsFor) -> AsyncIterator[Service]:
    async with running(settings_for(sqlite_url), http=True) as started:
        await a_day_with_every_kind(started)
        yield started


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as started:
        yield started


async def a_day_with_every_kind(service: Service) -> None:
    await seed_city(service.sessions, residents=3)
    async with service.sessions.begin() as session:
        await session.execute(
            update(Resident)
            .where(Resident.id == "r-0001")
            .values(
                name="王秀英",
                phone="+8613882163101",
                checkin_window="07:00-10:00",
                service_default="meals",
            )
        )
        session.add(PhoneOptOut(phone="+8613900010002", opted_out_at=OPENED))  # 赵强 said STOP
        session.add(
            Provider(
                id="p-meal",
                community_id="kangqiao",
                name="康桥老年餐桌",
                category="meals",
                phone="+8613872620224",
            )
        )
        for n, (kind, type_, device, closed_after) in enumerate(ALARMS):
            opened = OPENED - timedelta(hours=len(ALARMS) - n)
            alarm = open_alarm(
                kind=kind,
                type_=type_,
                priority=1 if kind == AlarmKind.EMERGENCY else 3,
                device_id=device,
                resident_id=f"r-{device[2:]}",
                community_id="kangqiao",
                now=opened,
            )
            session.add(alarm)
            await session.flush()
            session.add(opened_entry(alarm, alarm_id=alarm.id, actor="terminal", now=opened))
            if closed_after is not None:
                closed = opened + timedelta(minutes=closed_after)
                alarm.acknowledged_at = opened + timedelta(seconds=40)
                alarm.acknowledged_by = "op1"
                # the offline terminal closed itself on coming back
                by, outcome = (
                    ("terminal", Outcome.DEVICE_RECOVERED)
                    if kind == AlarmKind.DEVICE
                    else ("op1", Outcome.HELP_GIVEN)
                )
                session.add(close_alarm(alarm, outcome=outcome, by=by, now=closed))
                session.add(
                    log_entry(
                        "note", at=closed, actor="op1", alarm_id=alarm.id, data={"note": "好"}
                    )
                )
        await an_outage_that_is_over(session)
        for error in (
            "HTTP 400: The 'To' number is not a valid phone number",
            "the recipient replied STOP",
        ):
            session.add(
                log_entry(
                    "notification_failed",
                    at=OPENED - timedelta(hours=5),
                    actor="notifier",
                    alarm_id=1,
                    data={"channel": "sms", "recipient": "李娜", "error": error},
                )
            )
        session.add(
            Notification(
                alarm_id=1,
                purpose="step",
                step=2,
                round=0,
                recipient_key="contact:1",
                recipient_name="李娜",
                phone="+8613900010001",
                channel="sms",
                status="summarized",
                provider_status="undelivered",
                last_error="Twilio error 30003: Unreachable destination handset",
                next_attempt_at=OPENED,
                created_at=OPENED - timedelta(hours=5),
            )
        )
    for name, role in USERS.items():
        await add_user(service, name, role)
    await add_user(service, WALL, Role.WALLBOARD)
    await add_user(service, STREET_ADMIN, Role.ADMIN, scope="street:纬北路街道")
    async with api_client(service, "adm1") as api:  # an audited edit, of two fields
        body = {"paused_until": "2026-12-20", "reason": "住院"}
        async with api.put("/api/residents/r-0002/checkin", json=body) as response:
            assert response.status == 200, await response.text()


async def an_outage_that_is_over(session: AsyncSession) -> None:
    down = OPENED - timedelta(minutes=50)
    back = OPENED - timedelta(minutes=10)
    alarm = open_alarm(
        kind=AlarmKind.DEVICE,
        type_="outage",
        priority=3,
        device_id=None,
        resident_id=None,
        community_id="kangqiao",
        now=down,
    )
    session.add(alarm)
    await session.flush()
    assert alarm.id == OUTAGE_ID
    session.add(opened_entry(alarm, alarm_id=alarm.id, actor="engine", now=down))
    for device_id in OUTAGE:
        session.add(Terminal(device_id=device_id, connected=True))
        session.add(
            OutageMember(
                alarm_id=alarm.id,
                device_id=device_id,
                reason="power_lost",
                joined_at=down,
                left_at=back,
            )
        )
        for kind, at in (("outage_joined", down), ("outage_left", back)):
            session.add(
                log_entry(
                    kind,
                    at=at,
                    actor="engine",
                    alarm_id=alarm.id,
                    device_id=device_id,
                    data={"reason": "power_lost"},
                )
            )
    session.add(close_alarm(alarm, outcome=Outcome.RESOLVED_ITSELF, by="engine", now=back))


async def log_in(
    browser: Browser, service: Service, username: str, lang: str, *, start: str = "/queue"
) -> Page:
    context = await browser.new_context(
        base_url=f"http://127.0.0.1:{service.http_port}",
        viewport=SCREEN,
        locale="zh-CN",
        timezone_id="UTC",  # the city's time zone must win over the browser's
    )
    if lang == "en":
        await context.add_cookies(
            [
                {
                    "name": "dispatcher_lang",
                    "value": "en",
                    "url": f"http://127.0.0.1:{service.http_port}",
                }
            ]
        )
    page = await context.new_page()
    await page.goto(f"/login?next={start}")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", "password-123")
    await page.click("button[type=submit]")
    await expect(page).to_have_url(start)
    await expect(page.locator("body")).to_have_attribute("data-live", "up")
    return page


async def header_lines(page: Page) -> dict[str, int]:
    """How many lines each part of the header takes, and whether it overflows."""
    found: dict[str, int] = await page.evaluate(
        """() => {
          const top = document.querySelector('header.top');
          const nav = top.querySelector('nav');
          const who = top.querySelector('.who');  // cut with an ellipsis when crowded
          const parts = {overflow: top.scrollWidth > top.clientWidth
                           || nav.scrollWidth > nav.clientWidth
                           || who.scrollWidth > who.clientWidth ? 1 : 0,
                         height: Math.round(top.getBoundingClientRect().height)};
          const lineOf = (node) => {
            const range = document.createRange(); range.selectNodeContents(node);
            // a second line starts a line's height below; smaller text on one line does not
            const tops = [...range.getClientRects()].map((r) => r.top).sort((a, b) => a - b);
            return 1 + tops.filter((top, i) => i > 0 && top - tops[i - 1] > 10).length;
          };
          for (const node of top.querySelectorAll('a, button, span')) {
            if (node.offsetParent === null) continue;
            parts[(node.className || node.tagName) + ':' + node.textContent] = lineOf(node);
          }
          return parts;
        }"""
    )
    return found


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
async def test_the_header_is_one_line_for_every_role(
    service: Service, browser: Browser, lang: str
) -> None:
    for username in [*USERS, WALL, STREET_ADMIN]:
        start = "/wall" if username == WALL else "/queue"
        page = await log_in(browser, service, username, lang, start=start)
        area = page.locator("header.top .who .area")
        if username == STREET_ADMIN:
            await expect(area).to_have_text("纬北路街道")
        else:
            await expect(area).to_have_count(0)  # the whole city: nothing to say
        # the sound button showing, and a queue of two digits on its link
        await page.evaluate(
            """() => {
              document.getElementById('sound').hidden = false;
              const queue = document.querySelector('[data-nav=queue]');
              if (queue) queue.dataset.count = '88';
            }"""
        )
        await expect(page.locator("#sound")).to_be_visible()
        parts = await header_lines(page)
        # before the checks: a failure's screenshot shows what overflowed
        await page.screenshot(path=ARTIFACTS / f"console-header-{username}-{lang}.png")
        assert parts.pop("overflow") == 0, parts
        assert parts.pop("height") <= 64, parts  # one line of buttons (two would be 100)
        assert parts, "no header found"
        assert all(lines == 1 for lines in parts.values()), parts
        await page.context.close()


async def test_a_chinese_console_speaks_chinese_everywhere(
    service: Service, browser: Browser
) -> None:
    page = await log_in(browser, service, "adm1", "zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    rows = page.locator("tr.alarm")
    await expect(rows).to_have_count(4)  # the open ones
    found: dict[str, list[str]] = {}

    async def walk(path: str, ready: str, shot: str) -> None:
        await page.goto(path)
        await expect(page.locator("body")).to_have_attribute("data-live", "up")
        await expect(page.locator(ready).first).to_be_visible()
        text: str = await page.evaluate(
            """() => {
              let text = document.body.innerText;
              for (const node of document.querySelectorAll('code, a.lang')) {
                text = text.split(node.innerText).join(' ');
              }
              return text;
            }"""
        )
        if words := latin_words(text):
            found[path] = words
        await page.screenshot(path=ARTIFACTS / f"console-{shot}.png", full_page=True)

    await walk("/queue", "tr.alarm", "queue")
    for alarm_id in range(1, OUTAGE_ID + 1):
        await walk(f"/alarms/{alarm_id}", "#timeline li", f"alarm-{alarm_id}")
    for path, ready, shot in [
        ("/terminals", "main tbody tr[data-device]", "terminals"),
        ("/residents", "main .card, main tr", "residents"),
        ("/residents/r-0001", "main .card", "resident"),
        ("/history?status=all", "#history tr.alarm", "history"),
        ("/reports", "#report tbody tr", "reports"),
        ("/audit?resident_id=r-0002", "#audit tr.line", "audit"),
        ("/checkins", "main tr, main .empty", "checkins"),
        ("/admin", "main table tr, main form", "admin"),
        ("/admin/residents/r-0001", "main input", "admin-resident"),
    ]:
        await walk(path, ready, shot)
    print(found)
    assert found == {}
    assert errors == []


async def test_what_an_operator_sees_of_an_alarm(service: Service, browser: Browser) -> None:
    page = await log_in(browser, service, "op1", "zh-CN")
    # a single click opens the alarm, and the footer says so
    await expect(page.locator("#keys")).to_contain_text("单击一行即打开")
    sos = page.locator("tr.alarm[data-kind=emergency]")
    await sos.locator("td.resident").click()
    await expect(page).to_have_url("/alarms/1")
    await expect(page.locator("#contacts")).to_contain_text("139 0001 0001")  # grouped
    # 赵强 replied STOP: the operator sees he gets no SMS
    zhao = page.locator("#contacts .phone-line", has_text="139 0001 0002")
    await expect(zhao.locator(".opted-out")).to_have_text("对方已退订短信")
    await expect(
        page.locator("#contacts .phone-line", has_text="139 0001 0001")
    ).not_to_contain_text("退订")
    await expect(page.locator("#notifications")).to_contain_text("已合并在汇总短信中")
    await expect(page.locator("#notifications")).to_contain_text("139 0001 0001")
    await expect(page.locator("#timeline")).to_contain_text("对方已退订短信")
    await expect(page.locator(".service-default")).to_have_text("常用服务：助餐送餐")
    # one look, one audit line (the live feed's first snapshot does not load it again)
    await expect(page.locator("body")).to_have_attribute("data-live", "up")
    async with service.sessions() as session:
        looks = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.alarm_id == 1, AuditEntry.action == AuditAction.VIEW_ALARM)
        )
    assert looks == 1
    # an operator records an arrival by naming who is at the door, not themself
    await page.click("#arrived")
    await page.fill("#arrived-who", "张丽")
    await page.click("#arrived-confirm")
    await expect(page.locator("#arrived-flag")).to_contain_text("张丽 已到达")
    await expect(page.locator("#arrived-flag")).not_to_contain_text("op1")
    await page.screenshot(path=ARTIFACTS / "console-alarm-arrived.png")

    # a closed alarm's age stops at its close (63 minutes), in the city's time
    await page.goto("/alarms/2")
    await expect(page.locator("#alarm-head .age")).to_have_text("1小时3分")
    await expect(page.locator("#timeline")).to_contain_text("07:36")  # 23:36 UTC
    # a device alarm: no ambulance, nobody at the door
    await page.goto("/alarms/4")
    await expect(page.locator("#take")).to_be_visible()
    await expect(page.locator("#ambulance")).to_have_count(0)
    await expect(page.locator("#arrived")).to_have_count(0)
    await page.keyboard.press("d")
    await expect(page.locator("#arrived-dialog")).not_to_be_visible()

    # a closed outage: how many it held, one timeline line per change, ids whole
    await page.goto(f"/alarms/{OUTAGE_ID}")
    await expect(page.locator("#alarm-head h1")).to_contain_text("共涉及20台终端")
    grouped = page.locator("#timeline li.grouped")
    await expect(grouped).to_have_count(2)  # joined, left
    await expect(grouped.first).to_contain_text("共20条")
    await expect(grouped.first).to_contain_text("T-000101")
    await expect(page.locator("#timeline li")).to_have_count(4)  # opened, joined, left, closed
    heights = await page.eval_on_selector_all(
        "#outage-members tr td:first-child",
        "(cells) => cells.map((c) => c.getBoundingClientRect().height)",
    )
    assert len(heights) == len(OUTAGE)
    assert max(heights) < 1.5 * min(heights), heights  # no id broken over two lines
    await page.screenshot(path=ARTIFACTS / "console-outage.png", full_page=True)


async def test_an_english_console_words_codes_too(service: Service, browser: Browser) -> None:
    page = await log_in(browser, service, "op1", "en")
    await page.goto("/alarms/1")
    await expect(page.locator(".service-default")).to_have_text("Usual service: Meals")
    await expect(page.locator("#workers")).to_contain_text("every day 08:00–20:00")
    await page.goto("/alarms/3")  # the service request: providers by their category's words
    await expect(page.locator("#providers")).to_contain_text("Meals")
    await expect(page.locator("#timeline")).to_contain_text("the resident has no usual service")
    await page.screenshot(path=ARTIFACTS / "console-alarm-en.png", full_page=True)
