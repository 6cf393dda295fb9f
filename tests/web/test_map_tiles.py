"""The map's tiles come only from configuration (docs/api.md): none by default, so no
page may load an image from outside; a configured tile server is the one host the pages'
content security policy adds; a template that is not one is refused at start."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from dispatcher.config import DashboardConfig, Settings
from tests.web.helpers import web_only

SettingsFor = Callable[..., Settings]


async def _policy(settings: Settings) -> str:
    async with web_only(settings) as w, w.client.get("/login") as response:
        assert response.status == 200
        return response.headers["Content-Security-Policy"]


async def test_no_tiles_no_image_from_outside(sqlite_url: str, settings_for: SettingsFor) -> None:
    policy = await _policy(settings_for(sqlite_url))
    assert "img-src 'self' data:;" in policy


async def test_a_tile_server_is_the_one_host_added(
    sqlite_url: str, settings_for: SettingsFor
) -> None:
    tiles = "https://{s}.tiles.example.gov.cn/{z}/{x}/{y}.png"
    policy = await _policy(settings_for(sqlite_url, dashboard={"map_tiles": tiles}))
    assert "img-src 'self' data: https://*.tiles.example.gov.cn;" in policy
    assert policy.count("example") == 1


@pytest.mark.parametrize(
    "template", ["tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org/map.png"]
)
def test_a_template_that_is_not_one_is_refused(template: str) -> None:
    with pytest.raises(ValidationError, match="URL template"):
        DashboardConfig(map_tiles=template)
