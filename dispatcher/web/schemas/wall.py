"""The wallboard, the map and the responder's page (docs/api.md)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from dispatcher.web.schemas.base import Answer, Path, Time


class WallCommunity(Answer):
    id: str
    name: str
    open_alarms: int
    """Alarms of any kind not closed."""
    on_shift: list[str]
    """The names of the community's workers on shift now."""


class Wall(Answer):
    """The supervisor's big figures. Shares are 0-100 with one decimal by the daily
    report's rules (the README), the city as one, for today in `city.timezone`; null
    where there is nothing to count."""

    now: Time
    date: date
    open_emergencies: int
    """Emergencies not closed (taken or not)."""
    longest_wait_s: int | None
    """How long the oldest emergency nobody has taken has waited; null: none waits."""
    emergencies_today: int
    answered_60s_pct: float | None
    answered_180s_pct: float | None
    attended_45min_pct: float | None
    terminals_offline: int
    """Terminals offline now (as /metrics counts them)."""
    checkins_missed_today: int
    communities: list[WallCommunity]
    """Most open alarms first."""


class MapMarker(Answer):
    what: Literal["alarm", "offline"]
    """An open alarm, or a terminal offline now."""
    alarm_id: int | None
    kind: str
    type: str
    status: str | None
    created_at: Time | None
    device_id: str | None
    community_id: str | None
    name: str | None
    address: str | None
    lat: float | None
    """The terminal's last reported `loc`, else the resident's home; null: unknown."""
    lon: float | None


class MapAnswer(Answer):
    tiles: str | None
    """`dashboard.map_tiles`: a URL template; null: draw no tiles."""
    attribution: str | None
    extent: list[float] | None
    """[south, west, north, east] of the residents' homes; null when none has one."""
    markers: list[MapMarker]


class TokenPath(Path):
    token: str = Field(max_length=200)
    """The token of the link in the SMS (an unknown one is 404, as an HTML page)."""


class ResponderActionPath(TokenPath):
    action: str = Field(max_length=20)
    """The button: take (reply 1), decline (2), arrived (3), done (4, providers); another
    is 404."""
