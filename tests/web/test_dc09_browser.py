"""An operator's screen for a DC-09 terminal's SOS (real headless Chromium): the alarm
view names the terminal's protocol, and the timeline gives the Contact ID code with its
meaning, in Chinese and in English."""

from __future__ import annotations

from sqlalchemy import select, update

from devices import dc09
from dispatcher.store.models import Alarm, Terminal
from dispatcher.web.i18n import COOKIE
from harness.service import running
from simulators.dc09 import Dc09Terminal
from tests.web.test_browser import SettingsFor, a_night_in_kangqiao, chromium, log_in


async def test_the_timeline_shows_the_contact_id_code_and_its_meaning(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    settings = settings_for(sqlite_url, dc09={"port": 0})
    async with running(settings, http=True) as service, chromium() as browser:
        await a_night_in_kangqiao(service)
        async with service.sessions.begin() as session:
            await session.execute(
                update(Terminal)
                .where(Terminal.device_id == "T-0001")
                .values(protocol="dc09", dc09_account="1A2B")
            )
        assert service.dc09 is not None
        await service.dc09.reload_accounts()
        async with Dc09Terminal("1A2B", None, "127.0.0.1", service.dc09.port) as terminal:
            assert (await terminal.sos("101", "002")).answer is dc09.Answer.ACK
        async with service.sessions() as session:
            alarm_id = await session.scalar(select(Alarm.id).where(Alarm.device_id == "T-0001"))

        page = await log_in(browser, service, "op1")
        await page.goto(f"/alarms/{alarm_id}")
        timeline = page.locator("#timeline")
        await timeline.wait_for()
        assert "CID 1101 z002 个人紧急求助" in await timeline.inner_text()
        assert "第三方报警终端（DC-09）" in await page.locator("main").inner_text()

        await page.context.add_cookies(
            [{"name": COOKIE, "value": "en", "url": f"http://127.0.0.1:{service.http_port}"}]
        )
        await page.goto(f"/alarms/{alarm_id}")
        await page.locator("#timeline").wait_for()
        text = await page.locator("#timeline").inner_text()
        assert "CID 1101 z002 Personal emergency" in text
