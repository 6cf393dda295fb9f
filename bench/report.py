"""The benchmarks' verdicts: one row per figure, with its target and whether it was met."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Row:
    scenario: str
    figure: str
    measured: str
    target: str = ""
    # None: a figure without a target (shown for reading the others)
    met: bool | None = None


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    # a check of behaviour failed (a press lost, an alarm missing): not a figure
    broken: list[str] = field(default_factory=list)

    def add(
        self, scenario: str, figure: str, measured: str, target: str = "", met: bool | None = None
    ) -> None:
        row = Row(scenario, figure, measured, target, met)
        self.rows.append(row)
        print(f"    {figure:44} {measured:>24}   {_verdict(row)}", flush=True)

    def check(self, scenario: str, good: bool, what: str) -> None:
        if not good:
            self.broken.append(f"{scenario}: {what}")
            print(f"    !! {what}", flush=True)

    def table(self) -> str:
        head = ("scenario", "figure", "measured", "target", "met")
        cells = [head, *(_cells(r) for r in self.rows)]
        widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
        lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
        lines.insert(1, "-+-".join("-" * w for w in widths))
        lines += [f"!! {b}" for b in self.broken]
        return "\n".join(lines)


def _verdict(row: Row) -> str:
    if row.met is None:
        return f"({row.target})" if row.target else ""
    return f"target {row.target}: {'met' if row.met else 'MISSED'}"


def _cells(row: Row) -> tuple[str, str, str, str, str]:
    met = "" if row.met is None else ("met" if row.met else "MISSED")
    return (row.scenario, row.figure, row.measured, row.target, met)
