"""Every catalog message is a template of Alibaba Cloud, as `dispatcher templates
--provider aliyun` prints it, and its variables stay within Alibaba Cloud's rules."""

from __future__ import annotations

import json
import subprocess
import sys

from dispatcher import catalog
from dispatcher.catalog import Phrase
from dispatcher.notify import aliyun_templates as t


def _printed() -> list[dict[str, object]]:
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
