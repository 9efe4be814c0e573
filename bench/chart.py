"""Draws write latency against offered load as a small self-contained SVG (no plotting library)."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any

from bench.report import RESULTS

CHART = RESULTS / "write-latency.svg"
WIDTH, HEIGHT = 640, 380
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 40, 60


def write_latency(
    steps: list[dict[str, Any]], max_rate: float, machine: str, path: Path = CHART
) -> str:
    """Plot p50 and p99 latency (log scale) against offered commands/s into `path`; its name."""
    xs = [s["offered"] for s in steps]
    series = {"p50": "#1f77b4", "p99": "#d62728"}
    # NaN (a step that completed no command) is not equal to itself: leave it out of the scale.
    values = [v for s in steps for name in series if (v := s[f"{name}_ms"]) == v]
    y_low = 10 ** math.floor(math.log10(max(min(values, default=1), 0.1)))
    y_high = 10 ** math.ceil(math.log10(max(max(values, default=10), y_low * 10)))
    x_high = max([*xs, max_rate]) * 1.05 or 1

    def px(x: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * x / x_high

    def py(y: float) -> float:
        y = min(max(y, y_low), y_high)
        span = math.log10(y_high) - math.log10(y_low)
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (math.log10(y) - math.log10(y_low)) / span)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="14">'
        "Write latency against offered load (16 clients, 8 projects)</text>",
    ]
    decade = y_low
    while decade <= y_high:
        y = py(decade)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{decade:g} ms</text>'
        )
        decade *= 10
    for i in range(6):
        x_value = x_high * i / 5
        x = px(x_value)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM + 4}" '
            f'stroke="black"/><text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" '
            f'text-anchor="middle">{x_value:.0f}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" '
        f'stroke="black"/><line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
        'stroke="black"/>'
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - BOTTOM + 38}" text-anchor="middle">'
        "offered load (commands/s)</text>"
    )
    mx = px(max_rate)
    parts.append(
        f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="#999" '
        f'stroke-dasharray="4 3"/><text x="{mx - 4:.1f}" y="{TOP + 12}" text-anchor="end" '
        f'fill="#555">closed-loop max {max_rate:.0f}/s</text>'
    )
    goal = py(50)
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{goal:.1f}" y2="{goal:.1f}" stroke="#2ca02c" '
        f'stroke-dasharray="2 2"/><text x="{WIDTH - RIGHT - 4}" y="{goal - 4:.1f}" '
        'text-anchor="end" fill="#2ca02c">p99 goal 50 ms</text>'
    )
    for row, (name, colour) in enumerate(series.items()):
        points = " ".join(f"{px(s['offered']):.1f},{py(s[f'{name}_ms']):.1f}" for s in steps)
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        for s in steps:
            parts.append(
                f'<circle cx="{px(s["offered"]):.1f}" cy="{py(s[f"{name}_ms"]):.1f}" r="3" '
                f'fill="{colour}"/>'
            )
        parts.append(
            f'<text x="{LEFT + 10}" y="{TOP + 14 + 16 * row}" fill="{colour}">{name} latency</text>'
        )
    parts.append(
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 8}" text-anchor="middle" fill="#555" '
        f'font-size="10">{escape(machine)}</text></svg>'
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n")
    repo = RESULTS.parent.parent
    return str(path.relative_to(repo) if path.is_relative_to(repo) else path)
