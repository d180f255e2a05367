"""What a scenario hands back: checks against targets (pass/miss) and the numbers behind them."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Check:
    """One measured number against its target; ``ok`` None means informational only."""

    name: str
    measured: float
    unit: str
    target: str
    ok: bool | None

    def verdict(self) -> str:
        return "info" if self.ok is None else ("pass" if self.ok else "MISS")

    def shown(self) -> str:
        value = self.measured
        if isinstance(value, float) and math.isnan(value):
            return "n/a"
        if isinstance(value, float) and math.isinf(value):
            return "∞"
        if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 100):
            return f"{int(value):,} {self.unit}".strip()
        return f"{value:,.{2 if abs(value) < 100 else 1}f} {self.unit}".strip()


@dataclass
class Result:
    scenario: str
    checks: list[Check] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def check(
        self, name: str, measured: float, unit: str, target: str, ok: bool | None = None
    ) -> None:
        self.checks.append(Check(name, measured, unit, target, ok))

    def passed(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    def text(self) -> str:
        """The human-readable block printed when a scenario ends."""
        lines = [f"== {self.scenario}: {'pass' if self.passed() else 'MISS'}"]
        for c in self.checks:
            lines.append(f"   {c.name:<40} {c.shown():>14}   target {c.target:<14} {c.verdict()}")
        lines += [f"   note: {n}" for n in self.notes]
        return "\n".join(lines)


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null / strings so the file stays standard JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_json(path: Path, header: dict[str, Any], results: list[Result]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {**header, "results": [asdict(r) for r in results]}
    path.write_text(json.dumps(_clean(body), indent=2, ensure_ascii=False) + "\n")


def markdown(header: dict[str, Any], results: list[Result]) -> str:
    """The results table (scenario, measured, target, pass/miss) and each scenario's notes."""
    m = header["machine"]
    lines = [
        f"Run {header['date']} on {m['cpus']} × {m['cpu_model']}, Python {m['python']}, "
        f"SQLite {m['sqlite']}; code {header['code']}; command `{header['command']}`; "
        f"{header['seconds']:.0f} s total.",
        "",
        "| scenario | measure | measured | target | result |",
        "| --- | --- | ---: | --- | --- |",
    ]
    for r in results:
        for c in r.checks:
            lines.append(f"| {r.scenario} | {c.name} | {c.shown()} | {c.target} | {c.verdict()} |")
    notes = [(r.scenario, n) for r in results for n in r.notes]
    if notes:
        lines += ["", "Notes:", ""]
        lines += [f"- {scenario}: {n}" for scenario, n in notes]
    return "\n".join(lines) + "\n"
