"""Escalation rules: whom each step reaches, and the story of an alarm nobody takes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher import catalog
from dispatcher.rules.escalation import (
    ACK_OVERDUE_STEP,
    EXHAUSTED_STEP,
    OPERATORS,
    WHY_NONE,
    Decision,
    Directory,
    EscalationState,
    Notify,
    Recipient,
    RosterContact,
    RosterProvider,
    RosterWorker,
    ack_overdue_at,
    ack_overdue_cutoff,
    advance,
    chain_length,
    is_due,
    resolve_target,
    skip_wait,
    start,
    supervisors_alert,
)
from dispatcher.rules.policy import Channel, Policy, Step, default_policies
from dispatcher.rules.roster import parse_shift

TZ = ZoneInfo("Asia/Shanghai")
NIGHT_PRESS = datetime(2025, 6, 3, 3, 0, tzinfo=TZ)  # Tuesday 03:00
NOON = datetime(2025, 6, 3, 12, 0, tzinfo=TZ)

ZHANG = RosterWorker(
    Recipient("worker:w-zhang", "张丽", "+8613800000001"),
    (parse_shift("mon-sun", "08:00", "20:00"),),
)
LIU = RosterWorker(
    Recipient("worker:w-liu", "刘强", "+8613800000002"),
    (parse_shift("mon-sun", "20:00", "08:00"),),
)
LI = RosterContact(Recipient("contact:c-li", "李娜", "+8613900000001"), priority=1)
ZHAO = RosterContact(Recipient("contact:c-zhao", "赵强", "+8613900000002"), priority=2)
MEALS = RosterProvider(Recipient("provider:p-meal-1", "康桥老年餐桌", "+8613800000101"), "meals")
WANG = Recipient("supervisor:wang", "王主任", "+8613700000001")
CHEN = Recipient("supervisor:chen", "陈组长", None)
CITY = Directory(
    workers=(ZHANG, LIU),
    contacts=(ZHAO, LI),  # out of order on purpose
    providers=(MEALS,),
    supervisors=(WANG, CHEN),
)
SMS, VOICE, DASHBOARD = Channel.SMS, Channel.VOICE, Channel.DASHBOARD


def step(notify: list[str], channels: list[str], wait_s: int = 60) -> Step:
    return Step.model_validate({"notify": notify, "channels": channels, "wait_s": wait_s})


def policy(*steps: Step, repeat: int = 0) -> Policy:
    return Policy(repeat=repeat, steps=steps)


def sent(decision: Decision) -> list[tuple[str, str]]:
    return [(n.recipient.key, n.channel.value) for n in decision.notifications]


def run_to_the_end(
    rules: Policy, directory: Directory, pressed: datetime
) -> list[tuple[int, Decision]]:
    """Nobody ever acknowledges: advance at each due time; (seconds after press, decision)."""
    decision = start(rules, directory, pressed, TZ)
    story = [(0, decision)]
    while not decision.state.exhausted:
        assert decision.state.next_step_at is not None
        now = decision.state.next_step_at
        decision = advance(decision.state, rules, directory, now, TZ)
        story.append((int((now - pressed).total_seconds()), decision))
        assert len(story) <= chain_length(rules) + 1
    return story


# --- recipients and targets


@pytest.mark.parametrize("key", ["", "worker", "worker:", "boss:1", "operator", ":x"])
def test_recipient_keys_follow_the_convention(key: str) -> None:
    with pytest.raises(ValueError, match="bad recipient key"):
        Recipient(key, "x", None)


@pytest.mark.parametrize(
    ("who", "reachable"),
    [
        (OPERATORS, {DASHBOARD}),
        (WANG, {DASHBOARD, SMS, VOICE}),
        (CHEN, {DASHBOARD}),
        (ZHANG.recipient, {SMS, VOICE}),
        (LI.recipient, {SMS, VOICE}),
        (MEALS.recipient, {SMS, VOICE}),
        (Recipient("contact:no-phone", "无电话", None), set()),
        (Recipient("worker:empty-phone", "空号", ""), set()),
    ],
)
def test_channels_that_reach_whom(who: Recipient, reachable: set[Channel]) -> None:
    assert {c for c in Channel if who.reachable_by(c)} == reachable


@pytest.mark.parametrize(
    ("target", "now", "keys"),
    [
        ("operators", NIGHT_PRESS, ["operators"]),
        ("supervisors", NIGHT_PRESS, ["supervisor:wang", "supervisor:chen"]),
        ("duty_workers", NIGHT_PRESS, ["worker:w-liu"]),
        ("duty_workers", NOON, ["worker:w-zhang"]),
        ("duty_workers", NOON.replace(hour=20), ["worker:w-liu"]),
        ("duty_workers", NOON.replace(hour=7, minute=59), ["worker:w-liu"]),
        ("workers", NIGHT_PRESS, ["worker:w-zhang", "worker:w-liu"]),
        ("contact:1", NIGHT_PRESS, ["contact:c-li"]),
        ("contact:2", NIGHT_PRESS, ["contact:c-zhao"]),
        ("contact:3", NIGHT_PRESS, []),
        ("contacts", NIGHT_PRESS, ["contact:c-li", "contact:c-zhao"]),
        ("providers:meals", NIGHT_PRESS, ["provider:p-meal-1"]),
        ("providers:repairs", NIGHT_PRESS, []),
    ],
)
def test_resolve_target(target: str, now: datetime, keys: list[str]) -> None:
    assert [r.key for r in resolve_target(target, CITY, now, TZ)] == keys


@pytest.mark.parametrize("target", ["nobody", "contact:x", "providers:", "contact"])
def test_unknown_target(target: str) -> None:
    with pytest.raises(ValueError, match="unknown escalation target"):
        resolve_target(target, CITY, NOON, TZ)


def test_default_providers_are_those_of_the_residents_category() -> None:
    assert resolve_target("default_providers", CITY, NOON, TZ) == ()  # no default service
    fed = replace(CITY, service_default="meals")
    assert [r.key for r in resolve_target("default_providers", fed, NOON, TZ)] == [
        "provider:p-meal-1"
    ]
    decision = start(
        policy(step(["operators", "default_providers"], ["dashboard", "sms"])), fed, NOON, TZ
    )
    assert {(n.recipient.key, n.channel) for n in decision.notifications} == {
        ("operators", DASHBOARD),
        ("provider:p-meal-1", SMS),
    }


def test_empty_directory_resolves_to_nobody_but_the_operators() -> None:
    empty = Directory()
    assert resolve_target("operators", empty, NOON, TZ) == (OPERATORS,)
    for target in ["supervisors", "duty_workers", "workers", "contacts", "contact:1"]:
        assert resolve_target(target, empty, NOON, TZ) == ()


# --- the default emergency policy, told as a story


def test_night_press_nobody_acknowledges() -> None:
    emergency = default_policies().emergency
    story = run_to_the_end(emergency, CITY, NIGHT_PRESS)
    timeline = [(at, d.state.step, d.state.round, sent(d)) for at, d in story]
    liu = [("worker:w-liu", "sms"), ("worker:w-liu", "voice")]
    li_first = [("contact:c-li", "voice"), ("contact:c-li", "sms")]
    everyone = [
        ("contact:c-li", "sms"),
        ("contact:c-li", "voice"),
        ("contact:c-zhao", "sms"),
        ("contact:c-zhao", "voice"),
    ]
    supervisors = [
        ("supervisor:wang", "dashboard"),
        ("supervisor:wang", "sms"),
        ("supervisor:chen", "dashboard"),
    ]
    assert timeline == [
        (0, 0, 0, [("operators", "dashboard")]),
        (60, 1, 0, liu),
        (180, 2, 0, li_first),
        (300, 3, 0, everyone),
        (600, 0, 1, [("operators", "dashboard")]),
        (660, 1, 1, liu),
        (780, 2, 1, li_first),
        (900, 3, 1, everyone),
        (1200, 3, 1, supervisors),
    ]
    end = story[-1][1]
    assert end.state == EscalationState(step=3, round=1, next_step_at=None, exhausted=True)
    assert {n.step for n in end.notifications} == {EXHAUSTED_STEP}
    assert [entry.action for entry in end.log] == ["exhausted"]
    assert "王主任" in end.log[0].detail
    actions = [entry.action for _, d in story for entry in d.log]
    assert actions == ["step_fired"] * 8 + ["exhausted"]
    # once exhausted, the alarm stays open and nothing more happens
    later = advance(end.state, emergency, CITY, NIGHT_PRESS + timedelta(days=1), TZ)
    assert later == Decision(end.state, (), ())


def test_each_recipient_once_per_step_and_round() -> None:
    story = run_to_the_end(default_policies().emergency, CITY, NIGHT_PRESS)
    keys = [
        (n.recipient.key, n.channel, n.step, n.round) for _, d in story for n in d.notifications
    ]
    assert len(keys) == len(set(keys))


def test_nobody_on_shift_skips_the_workers_at_once() -> None:
    day_only = replace(CITY, workers=(ZHANG,))
    emergency = default_policies().emergency
    first = start(emergency, day_only, NIGHT_PRESS, TZ)
    assert first.state.next_step_at == NIGHT_PRESS + timedelta(seconds=60)
    now = NIGHT_PRESS + timedelta(seconds=60)
    second = advance(first.state, emergency, day_only, now, TZ)
    assert [(e.action, e.step) for e in second.log] == [("step_skipped", 1), ("step_fired", 2)]
    assert second.log[0].detail == "duty_workers: no worker on shift"
    assert sent(second) == [("contact:c-li", "voice"), ("contact:c-li", "sms")]
    # contact 1's own wait starts now, not after the skipped step's
    assert second.state == EscalationState(2, 0, now + timedelta(seconds=120))


def test_community_without_workers() -> None:
    rules = policy(step(["workers"], ["sms"]), step(["operators"], ["dashboard"]))
    decision = start(rules, replace(CITY, workers=()), NOON, TZ)
    assert decision.log[0].detail == "workers: no worker in the community"
    assert decision.state.step == 1


def test_advance_before_due_changes_nothing() -> None:
    emergency = default_policies().emergency
    first = start(emergency, CITY, NIGHT_PRESS, TZ)
    early = NIGHT_PRESS + timedelta(seconds=59)
    assert not is_due(first.state, early)
    assert advance(first.state, emergency, CITY, early, TZ) == Decision(first.state, (), ())
    assert is_due(first.state, early + timedelta(seconds=1))


def test_a_late_engine_catches_up_one_step_at_a_time() -> None:
    emergency = default_policies().emergency
    first = start(emergency, CITY, NIGHT_PRESS, TZ)
    an_hour_late = NIGHT_PRESS + timedelta(hours=1)
    decision = advance(first.state, emergency, CITY, an_hour_late, TZ)
    assert (decision.state.step, decision.state.round) == (1, 0)
    assert decision.state.next_step_at == an_hour_late + timedelta(seconds=120)


# --- channels and de-duplication within a step


def test_channels_filtered_per_recipient() -> None:
    rules = policy(step(["supervisors", "operators"], ["dashboard", "sms", "voice"]))
    assert sent(start(rules, CITY, NOON, TZ)) == [
        ("supervisor:wang", "dashboard"),
        ("supervisor:wang", "sms"),
        ("supervisor:wang", "voice"),
        ("supervisor:chen", "dashboard"),
        ("operators", "dashboard"),
    ]


@pytest.mark.parametrize(
    ("notify", "channels", "reason"),
    [
        (["operators"], ["sms", "voice"], "not reachable by sms/voice: 调度员"),
        (["providers:meals"], ["dashboard"], "not reachable by dashboard: 康桥老年餐桌"),
        (["contact:3"], ["sms"], "contact:3: no contact of priority 3"),
        (["providers:repairs"], ["sms"], "providers:repairs: no provider of category repairs"),
    ],
)
def test_unreachable_step_is_skipped_with_a_reason(
    notify: list[str], channels: list[str], reason: str
) -> None:
    rules = policy(step(notify, channels), step(["operators"], ["dashboard"]))
    decision = start(rules, CITY, NOON, TZ)
    assert decision.log[0].action == "step_skipped"
    assert decision.log[0].detail == reason
    assert decision.state.step == 1


def test_contact_without_phone_is_skipped() -> None:
    silent = RosterContact(Recipient("contact:c-x", "无电话", None), priority=1)
    rules = policy(step(["contact:1"], ["sms", "voice"]), step(["operators"], ["dashboard"]))
    decision = start(rules, replace(CITY, contacts=(silent,)), NOON, TZ)
    assert decision.log[0].detail == "not reachable by sms/voice: 无电话"


def test_one_recipient_once_per_step_whatever_the_targets() -> None:
    rules = policy(step(["contact:1", "contacts", "contact:1"], ["sms", "sms", "voice"]))
    assert sent(start(rules, CITY, NOON, TZ)) == [
        ("contact:c-li", "sms"),
        ("contact:c-li", "voice"),
        ("contact:c-zhao", "sms"),
        ("contact:c-zhao", "voice"),
    ]


def test_partly_empty_step_fires_and_says_what_was_missing() -> None:
    rules = policy(step(["contact:3", "operators"], ["dashboard"]))
    entry = start(rules, CITY, NOON, TZ).log[0]
    assert entry.action == "step_fired"
    assert entry.detail == "调度员 (dashboard); contact:3: no contact of priority 3"
    # the same as codes and names, for the catalog to word in the reader's language
    assert entry.facts == {
        "reached": [{"key": "operators", "name": "调度员", "channels": ["dashboard"]}],
        "missing": [{"target": "contact:3", "why": "no_contact_priority", "arg": "3"}],
    }


def test_the_facts_of_a_step_are_codes_the_catalog_has() -> None:
    rules = policy(
        step(["default_providers", "providers:laundry", "duty_workers", "contact:1"], ["voice"])
    )
    silent = RosterContact(Recipient("contact:c-x", "无电话", None), priority=1)
    nobody = replace(CITY, workers=(), contacts=(silent,), service_default=None)
    entry = start(rules, nobody, NOON, TZ).log[0]
    whys = [m["why"] for m in entry.facts["missing"]]
    assert whys == ["no_default_service", "no_provider_category", "no_worker"]
    assert entry.facts["unreachable"] == {"names": ["无电话"], "channels": ["voice"]}
    for why in whys:
        assert catalog.has(f"fact.missing.{why}")
        assert WHY_NONE[why]
    said = {k.removeprefix("fact.missing.") for k in catalog.strings("en") if "fact.missing." in k}
    assert said == set(WHY_NONE)


# --- running out


def test_all_empty_goes_straight_to_exhausted() -> None:
    rules = policy(step(["duty_workers"], ["sms"]), step(["contacts"], ["voice"]), repeat=2)
    decision = start(rules, Directory(), NIGHT_PRESS, TZ)
    assert [(e.action, e.step, e.round) for e in decision.log] == [
        *[("step_skipped", i, r) for r in range(3) for i in range(2)],
        ("exhausted", 1, 2),
    ]
    assert decision.state == EscalationState(1, 2, None, exhausted=True)
    assert decision.notifications == ()
    assert "no supervisor" in decision.log[-1].detail


def test_empty_last_step_exhausts_when_the_previous_wait_ends() -> None:
    rules = policy(step(["operators"], ["dashboard"], 30), step(["contact:9"], ["sms"]))
    first = start(rules, CITY, NOON, TZ)
    end = advance(first.state, rules, CITY, NOON + timedelta(seconds=30), TZ)
    assert [e.action for e in end.log] == ["step_skipped", "exhausted"]
    assert end.state.exhausted
    assert {n.recipient.key for n in end.notifications} == {"supervisor:wang", "supervisor:chen"}


def test_policy_reloaded_with_fewer_steps_still_moves_forward() -> None:
    rules = policy(step(["operators"], ["dashboard"]), step(["workers"], ["sms"]), repeat=1)
    stale = EscalationState(step=3, round=0, next_step_at=NOON)
    decision = advance(stale, rules, CITY, NOON, TZ)
    assert (decision.state.step, decision.state.round) == (0, 1)


# --- helpers for the shell


def test_skip_wait_lets_the_next_step_fire_now() -> None:
    emergency = default_policies().emergency
    first = start(emergency, CITY, NIGHT_PRESS, TZ)
    failed_at = NIGHT_PRESS + timedelta(seconds=5)
    hurried = skip_wait(first.state, failed_at)
    assert hurried.next_step_at == failed_at
    assert is_due(hurried, failed_at)
    assert advance(hurried, emergency, CITY, failed_at, TZ).state.step == 1
    # already due, or exhausted: nothing to hurry
    assert skip_wait(hurried, failed_at + timedelta(seconds=1)) is hurried
    done = EscalationState(3, 1, None, exhausted=True)
    assert skip_wait(done, failed_at) is done


@pytest.mark.parametrize(("minutes", "overdue"), [(29, False), (30, True), (90, True)])
def test_ack_overdue(minutes: int, overdue: bool) -> None:
    # (a resolved alarm is never overdue: the engine's query takes acknowledged ones only)
    now = NOON + timedelta(minutes=minutes)
    assert (ack_overdue_cutoff(now, timeout_s=1800) >= NOON) is overdue
    assert (ack_overdue_at(NOON, timeout_s=1800) <= now) is overdue


def test_supervisors_alert() -> None:
    twice = replace(CITY, supervisors=(WANG, CHEN, WANG))
    alert = supervisors_alert(twice)
    assert alert == (
        Notify(WANG, DASHBOARD, ACK_OVERDUE_STEP, 0),
        Notify(WANG, SMS, ACK_OVERDUE_STEP, 0),
        Notify(CHEN, DASHBOARD, ACK_OVERDUE_STEP, 0),
    )
    assert {n.round for n in supervisors_alert(CITY, nth=2)} == {2}
    assert supervisors_alert(Directory()) == ()


# --- properties: random policies, directories and engine timings

_TARGETS = [
    "operators",
    "supervisors",
    "duty_workers",
    "workers",
    "contacts",
    "contact:1",
    "contact:2",
    "contact:3",
    "providers:meals",
    "providers:repairs",
]
_phones = st.one_of(st.none(), st.just("+8613800000000"))
_steps = st.builds(
    step,
    st.lists(st.sampled_from(_TARGETS), min_size=1, max_size=3),
    st.lists(st.sampled_from([c.value for c in Channel]), min_size=1, max_size=3),
    st.integers(1, 3600),
)
_policies = st.builds(
    lambda steps, repeat: policy(*steps, repeat=repeat),
    st.lists(_steps, min_size=1, max_size=5),
    st.integers(0, 3),
)
_walls = ["00:00", "06:00", "08:00", "12:00", "20:00", "22:30"]
_shift = st.builds(
    parse_shift,
    st.sampled_from(["daily", "mon-fri", "sat,sun", "fri-mon", "wed"]),
    st.sampled_from(_walls),
    st.sampled_from([*_walls, "24:00"]),
)


@st.composite
def _directories(draw: st.DrawFn) -> Directory:
    def people(kind: str, count: int) -> list[Recipient]:
        return [Recipient(f"{kind}:{i}", f"{kind} {i}", draw(_phones)) for i in range(count)]

    workers = people("worker", draw(st.integers(0, 3)))
    contacts = people("contact", draw(st.integers(0, 3)))
    providers = people("provider", draw(st.integers(0, 2)))
    return Directory(
        workers=tuple(RosterWorker(r, tuple(draw(st.lists(_shift, max_size=2)))) for r in workers),
        contacts=tuple(RosterContact(r, draw(st.integers(1, 3))) for r in contacts),
        providers=tuple(
            RosterProvider(r, draw(st.sampled_from(["meals", "repairs"]))) for r in providers
        ),
        supervisors=tuple(people("supervisor", draw(st.integers(0, 2)))),
    )


def _check(decision: Decision, before: EscalationState, now: datetime, rules: Policy) -> None:
    state = decision.state
    if state.exhausted:
        assert state.next_step_at is None
    else:
        assert state.next_step_at is not None
        assert state.next_step_at > now
    if not decision.log:
        assert decision == Decision(before, (), ())
        return
    # never backwards: the step reached only moves on, then to exhausted
    assert (state.round, state.step, state.exhausted) > (before.round, before.step, False)
    for n in decision.notifications:
        assert n.recipient.reachable_by(n.channel)
        if n.step != EXHAUSTED_STEP:
            assert n.channel in rules.steps[n.step].channels
            assert (n.step, n.round) == (state.step, state.round)


_BEFORE_START = EscalationState(step=-1, round=0, next_step_at=None)


@settings(max_examples=150, deadline=None)
@given(
    rules=_policies,
    directory=_directories(),
    pressed=st.datetimes(
        min_value=datetime(2025, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=datetime(2026, 12, 31),  # noqa: DTZ001
        timezones=st.just(TZ),
    ),
    wakes=st.lists(st.tuples(st.integers(0, 5000), st.booleans()), max_size=40),
)
def test_any_escalation_runs_forward_once_and_ends(
    rules: Policy, directory: Directory, pressed: datetime, wakes: list[tuple[int, bool]]
) -> None:
    now = pressed
    decisions = [start(rules, directory, now, TZ)]
    _check(decisions[0], _BEFORE_START, now, rules)
    # the engine wakes at random times, early or late, sometimes because a notification
    # failed for good; then at each due time until the end
    for gap, failed in wakes:
        now += timedelta(seconds=gap)
        before = decisions[-1].state
        if failed:
            before = skip_wait(before, now)
            assert before.exhausted or is_due(before, now)
        decisions.append(advance(before, rules, directory, now, TZ))
        _check(decisions[-1], before, now, rules)
    for _ in range(chain_length(rules) + 1):
        state = decisions[-1].state
        if state.exhausted:
            break
        assert state.next_step_at is not None
        now = max(now, state.next_step_at)
        decisions.append(advance(state, rules, directory, now, TZ))
        _check(decisions[-1], state, now, rules)
    assert decisions[-1].state.exhausted

    keys = [
        (n.recipient.key, n.channel, n.step, n.round) for d in decisions for n in d.notifications
    ]
    assert len(keys) == len(set(keys))
    log = [entry for d in decisions for entry in d.log]
    visited = [(e.round, e.step) for e in log if e.action != "exhausted"]
    steps = len(rules.steps)
    assert visited == [divmod(i, steps) for i in range(chain_length(rules))]
    assert [e.action for e in log].count("exhausted") == 1
    assert log[-1].action == "exhausted"
    # only steps that notified someone made the engine wait
    waited = [d for d in decisions if d.log and not d.state.exhausted]
    assert all(d.log[-1].action == "step_fired" for d in waited)
    assert len(waited) == sum(e.action == "step_fired" for e in log)
