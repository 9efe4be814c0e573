"""A metric's result, the printed table and `bench/results/latest.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
LATEST = RESULTS / "latest.json"

Metric = dict[str, Any]


def measured(
    value: float,
    baseline: float | None,
    *,
    unit: str,
    goal: str,
    met: bool,
    **extra: Any,
) -> Metric:
    """A measured metric: its value, the baseline of the same run and their ratio."""
    ratio = None if not baseline else value / baseline
    return {
        "value": round(value, 4),
        "baseline": None if baseline is None else round(baseline, 4),
        "ratio": None if ratio is None else round(ratio, 4),
        "unit": unit,
        "goal": goal,
        "met": met,
        **extra,
    }


def figure(value: float, baseline: float | None, *, unit: str, what: str, **extra: Any) -> Metric:
    """A figure reported for its information, beside the goals: no goal, so never met or not."""
    return {
        **measured(value, baseline, unit=unit, goal=f"none (a figure): {what}", met=False),
        "met": None,
        "figure": True,
        **extra,
    }


def missing(*, unit: str, goal: str, reason: str) -> Metric:
    """A metric whose feature does not exist (yet): no number, and why."""
    return {
        "value": None,
        "baseline": None,
        "ratio": None,
        "unit": unit,
        "goal": goal,
        "met": None,
        "missing": reason,
    }


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and abs(value) < 10:
        return f"{value:.2f}"
    return f"{value:,.0f}"


def _met(metric: Metric) -> str:
    if metric.get("missing"):
        return f"missing: {metric['missing']}"
    if metric.get("error"):
        return f"error: {metric['error']}"
    if metric.get("figure") or str(metric.get("goal", "")).startswith("none (a figure)"):
        return "—"
    return "yes" if metric["met"] else "no"


def table(metrics: dict[str, Metric], both: dict[str, bool | None] | None = None) -> str:
    """The results as a Markdown table (it goes to the terminal and into the README); with
    `both` (`bench.runs.met_in_both`), a last column says whether the previous full run met
    each goal too."""
    header = "| metric | value | unit | baseline | ratio | goal | met |"
    rule = "| --- | ---: | --- | ---: | ---: | --- | --- |"
    if both is not None:
        header += " met in both runs |"
        rule += " --- |"
    lines = [header, rule]
    for name, metric in metrics.items():
        line = (
            f"| `{name}` | {_number(metric['value'])} | {metric['unit']} | "
            f"{_number(metric['baseline'])} | {_number(metric['ratio'])} | {metric['goal']} | "
            f"{_met(metric)} |"
        )
        if both is not None:
            judged = both.get(name)
            line += f" {'—' if judged is None else 'yes' if judged else 'no'} |"
        lines.append(line)
    return "\n".join(lines)


def write(document: dict[str, Any], path: Path = LATEST) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
