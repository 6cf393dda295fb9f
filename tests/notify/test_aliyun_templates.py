"""Every catalog message is a template of Alibaba Cloud, as `dispatcher templates
--provider aliyun` prints it, and its variables stay within Alibaba Cloud's rules."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from dispatcher import catalog
from dispatcher.catalog import Phrase
from dispatcher.notify import aliyun_templates as t
from dispatcher.notify.aliyun import AliyunGateway
from dispatcher.notify.aliyun_channels import AliyunSmsChannel
from dispatcher.notify.channels import Outgoing
from dispatcher.notify.worker import outgoing
from dispatcher.rules.messages import AlarmFacts, sms_phrase
from dispatcher.rules.notifications import Purpose
from dispatcher.rules.policy import AlarmKind
from dispatcher.store.deliveries import ToSend


def _printed(*more: str) -> list[dict[str, object]]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "dispatcher.cli",
            "templates",
            "--provider",
            "aliyun",
            "--format",
            "json",
            *more,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = json.loads(out)
    assert isinstance(rows, list)
    return rows


def test_the_printed_templates_are_the_catalogs_every_message_every_parameter_used() -> None:
    rows = _printed()
    keys = {k for k in catalog.strings("zh-CN") if k.startswith(("sms.", "reply.", "voice."))}
    # the parts that only go inside another message, as its values
    inner = {"sms.summary.item", "sms.summary.separator", "reply.which.item"}
    assert {r["key"] for r in rows} == keys - inner
    assert len(rows) == len(keys - inner) * len(catalog.LANGUAGES)
    for row in rows:
        text = str(row["text"])
        names = row["parameters"]
        assert isinstance(names, list)
        assert sorted(names) == sorted(
            set(t.parameters(catalog.strings(str(row["language"]))[str(row["key"])]))
        )
        for name in names:
            assert "${" + str(name) + "}" in text
        assert "{" not in text.replace("${", "")  # nothing left unconverted
        assert not text.startswith(("【", "[One-touch]"))  # the sign name is Alibaba Cloud's
    codes = [r["code_name"] for r in rows]
    assert len(codes) == len(set(codes))


def test_no_template_has_two_variables_side_by_side() -> None:
    for template in t.all_templates():
        assert "}${" not in template.text, template.code_name
        assert not t.adjacent(catalog.strings(template.language)[template.key]), template.key


def test_values_are_cut_cleanly_and_never_empty() -> None:
    address = "天桥区纬北路十二号院三单元二楼二零一室（进门右手第二家，门口有红色对联）"
    cut = t.cut(address)
    assert len(cut) == t.VARIABLE_MAX
    assert cut.endswith("…")
    assert address.startswith(cut[:-1])
    assert t.cut("") == t.EMPTY
    assert t.cut("  \n ") == t.EMPTY
    assert t.cut("a\nb") == "a b"
    emoji = "👵" * 40  # outside the BMP: cut between characters, never inside one
    assert t.cut(emoji) == "👵" * 34 + "…"


def test_params_fill_every_variable_even_nested_phrases() -> None:
    which = Phrase(
        "reply.which",
        {
            "n": 2,
            "items": (Phrase("reply.which.item", {"name": "王秀英", "code": 23}),),
            "digit": "1",
            "first": 23,
        },
    )
    values = t.params(which, "zh-CN")
    assert values == {"n": "2", "items": "王秀英（编号23）", "digit": "1", "first": "23"}
    assert (
        t.params(Phrase("sms.told_closed", {"name": "王秀英", "outcome": ""}), "en")["outcome"]
        == "—"
    )
    assert t.code_name("sms.step.emergency", "en") == "sms_step_emergency_en"


PUBLIC = "https://dispatch.example.gov.cn"


def test_the_messages_that_ask_to_act_have_a_template_ending_with_the_link() -> None:
    rows = _printed("--public-url", PUBLIC)
    linked = [r for r in rows if str(r["code_name"]).endswith(("_link", "_link_en"))]
    assert sorted((r["key"], r["language"]) for r in linked) == sorted(
        (key, language) for key in t.LINKED for language in catalog.LANGUAGES
    )
    plain = {r["code_name"]: r for r in rows if r not in linked}
    assert len(plain) == len(_printed())  # and every template without it, as before
    for row in linked:
        without = plain[t.code_name(str(row["key"]), str(row["language"]))]
        # the address is the template's own text, the token its one variable more
        assert row["text"] == f"{without['text']} {PUBLIC}/r/${{link}}"
        assert row["parameters"] == [*cast(list[str], without["parameters"]), "link"]
        assert "}${" not in str(row["text"])
    # without a public address there is no link, so no template with one: it says so
    quiet = subprocess.run(
        [sys.executable, "-m", "dispatcher.cli", "templates", "--public-url", ""],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "_link" not in quiet.stdout
    assert "notifications.public_url" in quiet.stderr


class _Gateway:
    """What the channel hands Alibaba Cloud."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, str]]] = []

    async def send_sms(
        self, phone: str, template_code: str, params: Mapping[str, str] | None, out_id: str
    ) -> str:
        self.sent.append((template_code, dict(params or {})))
        return "4711^0"


def _worker_sms(link: str | None) -> Outgoing:
    facts = AlarmFacts(
        alarm_id=23,
        kind=AlarmKind.EMERGENCY,
        type="sos",
        resident_name="王秀英",
        address="天桥区纬北路十二号院三单元二楼二零一室（进门右手第二家，门口有红色对联）",
        short_code="23",
    )
    return Outgoing(
        notification_id=7,
        alarm_id=23,
        purpose="step",
        channel="sms",
        recipient_key="worker:w-night",
        recipient_name="刘军",
        phone="+8613800000002",
        language="zh-CN",
        text="",
        body=None,
        phrase=sms_phrase(facts, language="zh-CN"),
        link=link,
    )


async def test_the_link_goes_whole_in_its_variable_or_the_sms_goes_without_it() -> None:
    token = "a" * 21 + "Z"  # as responder_links makes them: 22 characters
    codes = {tpl.code_name: f"SMS_{i}" for i, tpl in enumerate(t.all_templates(link_base=PUBLIC))}
    linked, plain = codes["sms_step_emergency_link"], codes["sms_step_emergency"]

    async def sent(message: Outgoing, limit: int = 35, known: Mapping[str, str] = codes) -> Any:
        gateway = _Gateway()
        channel = AliyunSmsChannel(cast(AliyunGateway, gateway), known, limit)
        assert await channel.send(message) == "aliyun:4711^0"
        return gateway.sent[0]

    code, params = await sent(_worker_sms(token))
    assert code == linked
    assert params["link"] == token  # whole, never cut like the address beside it
    assert params["address"].endswith("…")
    # no link in this SMS (no public address): the template without it, no empty variable
    code, params = await sent(_worker_sms(None))
    assert (code, "link" in params) == (plain, False)
    # a limit the token is over: no link rather than a cut one
    code, params = await sent(_worker_sms(token), limit=20)
    assert (code, "link" in params) == (plain, False)
    # the link's template not registered yet: the SMS still goes, without the link
    older = {k: v for k, v in codes.items() if "_link" not in k}
    code, params = await sent(_worker_sms(token), known=older)
    assert (code, "link" in params) == (plain, False)


def test_an_sms_carries_its_links_token_only_with_a_public_address() -> None:
    row = ToSend(
        notification_id=7,
        alarm_id=23,
        purpose=Purpose.STEP,
        channel="sms",
        recipient_key="worker:w-night",
        recipient_name="刘军",
        phone="+8613800000002",
        language="zh-CN",
        body=None,
        facts=AlarmFacts(23, AlarmKind.EMERGENCY, "sos", "王秀英", "纬北路12号", "23"),
        resident_language="zh-CN",
        link="b" * 22,
    )
    linked = outgoing(row, max_segments=2, link_base=PUBLIC)
    assert linked.link == "b" * 22
    assert linked.text.endswith(f" {PUBLIC}/r/{'b' * 22}")  # Twilio's words: the same link
    alone = outgoing(row, max_segments=2, link_base="")
    assert (alone.link, "/r/" in alone.text) == (None, False)
    told = outgoing(replace(row, purpose=Purpose.TOLD_CLOSED), max_segments=2, link_base=PUBLIC)
    assert told.link is None  # what only informs asks nothing: no link
