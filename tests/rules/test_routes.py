"""Routes per number and failover, once (rules.routes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatcher.rules import routes
from dispatcher.rules.routes import Route

CHINA = (Route("+86", "aliyun"), Route("", "twilio"))
T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def test_first_matching_prefix_wins_and_the_rest_go_by_twilio() -> None:
    assert routes.first("+8613800000001", CHINA, "log") == "aliyun"
    assert routes.first("+447700900123", CHINA, "log") == "twilio"
    assert routes.first("+447700900123", (Route("+86", "aliyun"),), "log") == "log"
    assert routes.first(None, (), "twilio") == "twilio"


def test_a_failed_provider_hands_over_to_the_next_matching_route_once() -> None:
    move = routes.on_error(mark=None, phone="+8613800000001", routes=CHINA, default="log", why="x")
    assert move == routes.Failover("aliyun", "twilio", "x")
    mark = routes.failover_mark(move.failed, move.to)
    assert routes.provider_now(mark, "+8613800000001", CHINA, "log") == "twilio"
    assert (
        routes.on_error(mark=mark, phone="+8613800000001", routes=CHINA, default="log", why="x")
        is None
    )
    # a number abroad has no route after Twilio
    assert (
        routes.on_error(mark=None, phone="+447700900123", routes=CHINA, default="log", why="x")
        is None
    )


def test_no_report_within_failover_s_moves_it_not_a_second_earlier() -> None:
    def unreported(now: datetime, **kw: object) -> routes.Failover | None:
        args: dict[str, object] = {
            "mark": None,
            "provider": "aliyun",
            "phone": "+8613800000001",
            "routes": CHINA,
            "sent_at": T0,
            "reported": False,
            "now": now,
            "failover_s": 120,
        } | kw
        return routes.unreported(**args)  # type: ignore[arg-type]

    assert unreported(T0 + timedelta(seconds=119)) is None
    moved = unreported(T0 + timedelta(seconds=120))
    assert moved is not None
    assert (moved.failed, moved.to) == ("aliyun", "twilio")
    assert unreported(T0 + timedelta(seconds=500), reported=True) is None
    assert unreported(T0 + timedelta(seconds=500), mark="aliyun>twilio") is None
    assert unreported(T0 + timedelta(seconds=500), provider="twilio") is None
