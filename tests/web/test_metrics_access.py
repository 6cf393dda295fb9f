"""`/metrics` tells failed logins and open alarms: served only to what `metrics` in the
configuration allows. By default nobody (401); with `metrics.token`, a scraper sending
it; with `metrics.allow`, clients of those networks (behind a trusted proxy, the
forwarded address, never the proxy's); with `metrics.port`, anyone on that listener of
its own, while the main one still refuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp

from dispatcher.config import Settings
from harness.service import running
from tests.web.helpers import web_only

SettingsFor = Callable[..., Settings]
TOKEN = "a-scrapers-token"


async def status(client: Any, url: str, headers: dict[str, str] | None = None) -> int:
    """`client`: an aiohttp ClientSession or TestClient."""
    async with client.get(url, headers=headers) as response:
        if response.status == 200 and url.endswith("/metrics"):
            assert "dispatcher_logins_total" in await response.text()
        return int(response.status)


async def test_metrics_only_as_the_configuration_allows(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    nobody = settings_for(sqlite_url, metrics={"allow": []})
    async with web_only(nobody) as w:
        assert await status(w.client, "/metrics") == 401
        assert await status(w.client, "/metrics", headers={"Authorization": "Bearer x"}) == 401
        assert await status(w.client, "/healthz") == 200  # health stays open
    by_token = settings_for(sqlite_url, metrics={"allow": [], "token": TOKEN})
    async with web_only(by_token) as w:
        assert await status(w.client, "/metrics") == 401
        assert await status(w.client, "/metrics", headers={"Authorization": "Bearer nope"}) == 401
        assert (
            await status(w.client, "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}) == 200
        )
    # by network; behind a trusted proxy the forwarded client counts, not the proxy
    by_network = settings_for(
        sqlite_url,
        metrics={"allow": ["10.0.5.0/24"]},
        http={"trusted_proxies": ["127.0.0.1"]},
    )
    async with web_only(by_network) as w:
        assert await status(w.client, "/metrics") == 401
        assert await status(w.client, "/metrics", headers={"X-Forwarded-For": "10.0.5.7"}) == 200
        assert await status(w.client, "/metrics", headers={"X-Forwarded-For": "10.0.6.7"}) == 401


async def test_the_default_and_a_listener_of_its_own(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    assert Settings().metrics.model_dump() == {
        "token": "",
        "allow": [],
        "host": "127.0.0.1",
        "port": None,
    }
    settings = settings_for(sqlite_url, metrics={"allow": [], "host": "127.0.0.1", "port": 0})
    async with running(settings, http=True) as service, aiohttp.ClientSession() as client:
        assert service.metrics_port is not None
        main = f"http://127.0.0.1:{service.http_port}"
        own = f"http://127.0.0.1:{service.metrics_port}"
        assert await status(client, f"{main}/metrics") == 401
        assert await status(client, f"{own}/metrics") == 200
        assert await status(client, f"{own}/healthz") == 200
        assert await status(client, f"{own}/api/me") == 404  # nothing else there
