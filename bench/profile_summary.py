"""Sum up a py-spy profile in collapsed-stack form: `python -m bench.profile_summary FILE`.

`py-spy record --format raw` writes one line per distinct stack, `frame;frame;... N`,
outermost first, each frame `function (path:line)`. The same file opens as a flame
graph in speedscope (https://www.speedscope.app, "collapsed stack" format). Here:

- by package: where the CPU went, by the package of the innermost frame (self time);
- by function, self: the innermost frame, line numbers dropped;
- by function, inclusive: every function on the stack, once per stack; our own code
  (`dispatcher/`, `devices/`) only, which answers "which of our paths costs what".
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<path>.*?)(?::\d+)?\)$")
_OURS = ("dispatcher/", "devices/")


def _parse(frame: str) -> tuple[str, str]:
    found = _FRAME.match(frame.strip())
    if not found:
        return frame.strip(), ""
    return found["func"], found["path"]


def package(path: str) -> str:
    """`sqlalchemy`, `asyncpg`, `dispatcher/store`, `asyncio`, ... for a frame's file."""
    if "site-packages/" in path:
        rest = path.split("site-packages/", 1)[1]
        return rest.split("/", 1)[0].removesuffix(".py")
    for ours in _OURS:
        if ours in path:
            rest = path.split(ours, 1)[1]
            sub = rest.split("/", 1)[0] if "/" in rest else rest.removesuffix(".py")
            return ours + sub
    if "/lib/python3" in path:
        rest = path.split("/lib/python3", 1)[1].split("/", 1)[1]
        return "stdlib:" + rest.split("/", 1)[0].removesuffix(".py")
    return path or "?"


def short(path: str) -> str:
    for marker in ("site-packages/", *_OURS, "/lib/python3"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return (marker if marker in _OURS else "") + tail
    return path


def summarise(path: Path, top: int = 20) -> str:
    total = 0
    by_package: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_parse(f) for f in stack.split(";")]
        func, where = frames[-1]
        by_package[package(where)] += count
        self_time[f"{func} ({short(where)})"] += count
        seen = {f"{f} ({short(w)})" for f, w in frames if any(ours in w for ours in _OURS)}
        for name in seen:
            inclusive[name] += count
    if not total:
        return "    (no samples)"

    def block(title: str, counter: Counter[str]) -> list[str]:
        rows = [f"  {title}"]
        rows += [f"    {n / total:6.1%}  {name}" for name, n in counter.most_common(top)]
        return rows

    lines = [f"  {total} samples"]
    lines += block("self time by package", by_package)
    lines += block("self time by function", self_time)
    lines += block("inclusive time, our functions", inclusive)
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("files", type=Path, nargs="+")
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args()
    for f in args.files:
        print(f"{f}:\n{summarise(f, args.top)}")


if __name__ == "__main__":
    main()
