"""The city's figures over a range against the targets, and its communities worst first
(issue 18 §1, reports): shares of the range's counts, not averages of the days' shares."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from dispatcher.rules.reports import AlarmCounts, Targets, period_figures

MON, TUE = date(2026, 12, 7), date(2026, 12, 8)


def counts(n: int, in_60: int, in_180: int, attended: int | None = None) -> AlarmCounts:
    return AlarmCounts(
        emergencies=n,
        answered_60=in_60,
        counted_60=n,
        answered_180=in_180,
        counted_180=n,
        attended=n if attended is None else attended,
        counted_attended=n,
    )


def test_the_city_counts_every_emergency_of_the_range_once() -> None:
    found = {
        (MON, "kangqiao"): counts(1, 0, 1),  # one day of 0 %
        (TUE, "kangqiao"): counts(99, 99, 99),  # one day of 100 %
    }
    city, rows = period_figures(["kangqiao"], found, Targets())
    assert city.community_id is None
    assert city.emergencies == 100
    assert city.acked_within_60s_pct == Decimal("99.0")  # not (0 + 100) / 2
    assert city.acked_within_180s_pct == Decimal("100.0")
    assert city.shortfall == Decimal(0)  # 99 >= 97.5, 100 >= 99, 100 >= 90
    assert [r.community_id for r in rows] == ["kangqiao"]


def test_communities_worst_first_then_the_busiest() -> None:
    found = {
        (MON, "a-fine"): counts(10, 10, 10),
        (MON, "b-late"): counts(10, 9, 10),  # 90 %: 7.5 points short of 97.5
        (MON, "c-far"): counts(10, 10, 10, attended=5),  # 50 %: 40 points short of 90
        (MON, "d-fine-busier"): counts(20, 20, 20),
    }
    city, rows = period_figures(
        ["a-fine", "b-late", "c-far", "d-fine-busier", "e-quiet"], found, Targets()
    )
    assert [r.community_id for r in rows] == [
        "c-far",
        "b-late",
        "d-fine-busier",
        "a-fine",
        "e-quiet",
    ]
    assert rows[0].shortfall == Decimal(40)
    assert rows[1].shortfall == Decimal("7.5")
    quiet = rows[-1]
    assert quiet.emergencies == 0
    assert quiet.acked_within_60s_pct is None  # nothing to count: no share, no shortfall
    assert quiet.shortfall == 0
    assert city.emergencies == 50


def test_the_targets_are_the_configured_ones() -> None:
    found = {(MON, "kangqiao"): counts(10, 9, 10)}  # 90 %
    strict, _ = period_figures(["kangqiao"], found, Targets())
    lenient, _ = period_figures(["kangqiao"], found, Targets(answer_60=Decimal(80)))
    assert strict.shortfall == Decimal("7.5")
    assert lenient.shortfall == 0
