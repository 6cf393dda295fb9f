"""City data in the format of docs/city-file.md: the shipped demo city, a generator of large
cities for load tests, and a quick integrity check of either.

The generator is deterministic by seed. Phone numbers are drawn without repetition so
that every number in a generated city is unique (real data may share a neighbour's).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import phonenumbers
import yaml

DEMO_CITY = Path(__file__).with_name("demo_city.yaml")
RESIDENTS_PER_COMMUNITY = 300
CATEGORIES = ("meals", "housekeeping", "repairs", "medical_escort", "shopping")

_STREETS = (
    "纬北路街道", "无影山街道", "官扎营街道", "北坦街道", "工人新村北村街道",
    "工人新村南村街道", "天桥东街街道", "制锦市街道", "宝华街道", "堤口路街道",
    "北园街道", "药山街道", "泺口街道", "南村街道", "北村街道", "大桥街道",
)  # fmt: skip
_ROADS = ("纬北路", "无影山中路", "官扎营西街", "堤口路", "北园大街", "成丰街", "济洛路",
          "蓝翔路", "生产路", "明湖西路", "小清河北路", "药山西路")  # fmt: skip
_STEMS = (
    "康乐", "和平", "幸福", "新华", "明湖", "泉城", "安居", "丰华", "南苑", "顺河",
    "长青", "清河", "金桥", "翠苑", "怡景", "福康", "同心", "惠民", "兴隆", "瑞祥",
)  # fmt: skip
_SUFFIXES = ("", "东", "西", "南", "北", "中", "新村", "花园", "里", "苑")
_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏"
    "卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯"
)
_ELDER_GIVEN = (
    "秀英", "桂兰", "玉兰", "凤英", "淑珍", "秀兰", "桂英", "玉珍", "秀珍", "淑英",
    "桂芝", "玉梅", "兰英", "凤兰", "德胜", "福田", "春生", "振华", "宝山", "建国",
    "长海", "树林", "国庆", "文明", "玉林", "德福", "宝华", "志刚", "永生", "保国",
)  # fmt: skip
_FEMALE = ("娜", "静", "敏", "艳", "丽", "霞", "婷", "娟", "慧", "海燕", "红梅", "晓丽")
_MALE = ("伟", "磊", "强", "洋", "军", "勇", "杰", "涛", "斌", "鹏", "超", "晓东", "建华")
_WOMEN = frozenset({"女儿", "儿媳", "孙女", "外甥女"})
_EN_NAMES = ("Margaret Wilson", "Robert Chen", "David Lee", "Anna Schmidt", "John Miller")
_EN_GIVEN = ("Emily", "James", "Sarah", "Michael", "Linda")
_RELATIONS = ("女儿", "儿子", "邻居", "儿媳", "女婿", "孙子", "孙女", "侄子", "外甥女")
_MEDICAL = ("高血压", "糖尿病", "冠心病", "青霉素过敏", "骨质疏松", "慢性阻塞性肺病",
            "轻度认知障碍", "帕金森病", "脑梗后遗症", "心房颤动，服用华法林", "白内障术后",
            "髋关节置换术后，行动不便", "听力下降", "哮喘", "慢性肾病")  # fmt: skip
_DAY = {"days": "mon-fri", "start": "08:00", "end": "20:00"}
_WEEKEND = {"days": "sat-sun", "start": "08:00", "end": "20:00"}
_NIGHT = {"days": "mon-sun", "start": "20:00", "end": "08:00"}
_OFFICE = {"days": "mon-fri", "start": "09:00", "end": "17:00"}
_SHIFTS = ([_DAY], [_WEEKEND], [_NIGHT], [_OFFICE], [_WEEKEND, _OFFICE])
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def load_city(path: Path | str) -> dict[str, Any]:
    with Path(path).open(encoding="utf-8") as f:
        # libyaml when present: 10x faster on a city of 10,000 residents
        data = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a city file (expected a mapping at the top)")  # noqa: TRY004
    return data


def write_city(data: dict[str, Any], path: Path | str) -> None:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    with Path(path).open("w", encoding="utf-8") as f:
        yaml.dump(data, f, Dumper=dumper, allow_unicode=True, sort_keys=False, width=100)


def terminal_ids(data: dict[str, Any]) -> list[str]:
    return [str(r["terminal"]) for r in data.get("residents", []) if r.get("terminal")]


def generate_city(n_residents: int, seed: int) -> dict[str, Any]:
    """A city of `n_residents`, ~300 per community, each community with 3 to 5 workers
    covering day and night and one provider per category."""
    if n_residents < 0:
        raise ValueError("n_residents must be >= 0")
    rng = random.Random(seed)
    n_communities = max(1, -(-n_residents // RESIDENTS_PER_COMMUNITY))
    # every phone drawn once: workers, providers and up to 3 contacts per resident
    phones = iter(rng.sample(range(10**8), n_communities * 10 + n_residents * 3))
    width = max(4, len(str(n_communities)))
    communities = [_community(rng, i, width, phones) for i in range(1, n_communities + 1)]
    width = max(6, len(str(n_residents)))
    residents = []
    for i in range(1, n_residents + 1):
        community = communities[(i - 1) // RESIDENTS_PER_COMMUNITY]["id"]
        residents.append(_resident(rng, i, width, community, phones))
    return {"communities": communities, "residents": residents}


def _phone(numbers: Any) -> str:
    return f"+86138{next(numbers):08d}"


def _community(rng: random.Random, i: int, width: int, phones: Any) -> dict[str, Any]:
    stem = _STEMS[(i - 1) % len(_STEMS)]
    suffix = _SUFFIXES[(i - 1) // len(_STEMS) % len(_SUFFIXES)]
    rounds = (i - 1) // (len(_STEMS) * len(_SUFFIXES))
    name = f"{stem}{suffix}{rounds + 1 if rounds else ''}社区"
    cid = f"c-{i:0{width}d}"
    n_workers = rng.randint(3, 5)
    workers = [
        {
            "id": f"w-{i:0{width}d}-{k}",
            "name": rng.choice(_SURNAMES) + rng.choice(_FEMALE + _MALE),
            "phone": _phone(phones),
            "shifts": _SHIFTS[k - 1],
        }
        for k in range(1, n_workers + 1)
    ]
    providers = [
        {
            "id": f"p-{i:0{width}d}-{category}",
            "name": f"{stem}{suffix}{_PROVIDER_NAMES[category]}",
            "category": category,
            "phone": _phone(phones),
        }
        for category in CATEGORIES
    ]
    return {
        "id": cid,
        "name": name,
        "street": _STREETS[(i - 1) % len(_STREETS)],
        "district": "天桥区",
        "workers": workers,
        "providers": providers,
    }


_PROVIDER_NAMES = {
    "meals": "老年餐桌",
    "housekeeping": "家政服务站",
    "repairs": "便民维修部",
    "medical_escort": "陪诊服务队",
    "shopping": "便民超市",
}


def _resident(
    rng: random.Random, i: int, width: int, community: str, phones: Any
) -> dict[str, Any]:
    english = rng.random() < 0.01
    surname = rng.choice(_SURNAMES)
    name = rng.choice(_EN_NAMES) if english else surname + rng.choice(_ELDER_GIVEN)
    n_contacts = rng.choice((1, 2, 2, 3))
    relations = rng.sample(_RELATIONS, n_contacts)
    contacts = [
        {
            "name": _contact_name(rng, name, surname, rel, english=english),
            "relation": rel,
            "phone": _phone(phones),
            "priority": k,
        }
        for k, rel in enumerate(relations, 1)
    ]
    medical = "；".join(rng.sample(_MEDICAL, rng.randint(0, 3))) or "无特殊病史"
    row = {
        "id": f"r-{i:0{width}d}",
        "name": name,
        "birth_year": rng.randint(1930, 1955),
        "community": community,
        "address": f"天桥区{rng.choice(_ROADS)}{rng.randint(1, 120)}号"
        f"{rng.randint(1, 6)}单元{rng.randint(1, 7)}{rng.randint(1, 4):02d}",
        "language": "en" if english else "zh-CN",
        "medical": medical,
    }
    # daily care (docs/daily-care.md), by the resident's number rather than the random draws,
    # so that the rest of a generated city is what it was before these fields existed
    if i % 10 < 6:
        row["checkin"] = {"window": _WINDOWS[i % len(_WINDOWS)]}
    if i % 3 == 0:
        row["service_default"] = CATEGORIES[i % len(CATEGORIES)]
    row["lat"], row["lon"] = _home(i)
    row["terminal"] = f"T-{i:0{width}d}"
    row["contacts"] = contacts
    return row


def _home(i: int) -> tuple[float, float]:
    """Where resident `i` lives, for the map: each community a block of Jinan north of
    the river, its homes spread over it (by number, not by the random draws)."""
    k = (i - 1) // RESIDENTS_PER_COMMUNITY
    lat = 36.60 + 0.012 * (k % 10) + 0.0004 * ((i * 7) % 23)
    lon = 116.90 + 0.015 * (k // 10) + 0.0004 * ((i * 11) % 29)
    return round(lat, 5), round(lon, 5)


_WINDOWS = ("07:00-10:00", "07:30-10:30", "08:00-11:00", "06:30-09:30")


def _contact_name(
    rng: random.Random, resident: str, surname: str, relation: str, *, english: bool
) -> str:
    if english and relation != "邻居":
        return f"{rng.choice(_EN_GIVEN)} {resident.rsplit(maxsplit=1)[-1]}"
    # children and grandchildren by the father's line share the surname
    family = relation in ("女儿", "儿子", "孙子", "孙女", "侄子")
    given = rng.choice(_FEMALE if relation in _WOMEN else _MALE)
    return (surname if family else rng.choice(_SURNAMES)) + given


# ---- integrity check ------------------------------------------------------------------


def check_city(data: dict[str, Any], *, validate_phones: bool = True) -> list[str]:
    """What is wrong with a city (empty when nothing): unique ids, terminals and phones,
    known communities, E.164 phones, shifts, and contact priorities 1..n per resident."""
    problems: list[str] = []
    ids: Counter[str] = Counter()
    phones: list[tuple[str, str]] = []
    community_ids = set()
    for c in data.get("communities") or []:
        community_ids.add(c.get("id"))
        ids[f"community {c.get('id')}"] += 1
        problems += _missing(c, ("id", "name", "street", "district"), f"community {c.get('id')}")
        for w in c.get("workers") or []:
            ids[f"worker {w.get('id')}"] += 1
            phones.append((f"worker {w.get('id')}", str(w.get("phone"))))
            for shift in w.get("shifts") or []:
                if not all(_HHMM.match(str(shift.get(k, ""))) for k in ("start", "end")):
                    problems.append(f"worker {w.get('id')}: bad shift {shift}")
        for p in c.get("providers") or []:
            ids[f"provider {p.get('id')}"] += 1
            phones.append((f"provider {p.get('id')}", str(p.get("phone"))))
    for r in data.get("residents") or []:
        rid = f"resident {r.get('id')}"
        ids[rid] += 1
        ids[f"terminal {r.get('terminal')}"] += 1
        keys = ("id", "name", "birth_year", "community", "address", "language", "terminal")
        problems += _missing(r, keys, rid)
        if r.get("community") not in community_ids:
            problems.append(f"{rid}: unknown community {r.get('community')}")
        contacts = r.get("contacts") or []
        priorities = sorted(c.get("priority") for c in contacts)
        if priorities != list(range(1, len(contacts) + 1)):
            problems.append(f"{rid}: contact priorities {priorities} are not 1..{len(contacts)}")
        phones += [(f"{rid} contact {c.get('name')}", str(c.get("phone"))) for c in contacts]
        if r.get("phone"):
            phones.append((rid, str(r["phone"])))
    problems += [f"{what} appears {n} times" for what, n in ids.items() if n > 1]
    seen: Counter[str] = Counter(number for _, number in phones)
    problems += [f"phone {number} appears {n} times" for number, n in seen.items() if n > 1]
    if validate_phones:
        problems += [f"{who}: {number} is not E.164" for who, number in phones if not _e164(number)]
    return problems


def _missing(row: dict[str, Any], keys: tuple[str, ...], where: str) -> list[str]:
    return [f"{where}: missing {key}" for key in keys if row.get(key) in (None, "")]


def _e164(number: str) -> bool:
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return False
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.is_valid_number(parsed) and e164 == number
