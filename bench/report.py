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


def table(metrics: dict[str, Metric]) -> str:
    """The results as a Markdown table (it goes to the terminal and into the README)."""
    lines = [
        "| metric | value | unit | baseline | ratio | goal | met |",
        "| --- | ---: | --- | ---: | ---: | --- | --- |",
    ]
    for name, metric in metrics.items():
        if metric.get("missing"):
            met = f"missing: {metric['missing']}"
        elif metric.get("error"):
            met = f"error: {metric['error']}"
        else:
            met = "yes" if metric["met"] else "no"
        lines.append(
            f"| `{name}` | {_number(metric['value'])} | {metric['unit']} | "
            f"{_number(metric['baseline'])} | {_number(metric['ratio'])} | {metric['goal']} | "
            f"{met} |"
        )
    return "\n".join(lines)


def write(document: dict[str, Any], path: Path = LATEST) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
