"""Draws the laid-out timeline: phases as bands, milestones as diamonds, the axis, today and a
legend."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime
from zoneinfo import ZoneInfo

from api.schemas import ProjectPublic
from api.timeline import measure, text
from api.timeline.gates import draw_gates
from api.timeline.layout import (
    BAND_PAD,
    CHAR_W,
    DATE_SIZE,
    DIAMOND,
    LEFT,
    NAME_SIZE,
    PHASE_TO,
    PHASE_X,
    ROW,
    TITLE_SIZE,
    TITLE_TO,
    TITLE_X,
    TOP,
    WIDTH,
    Lane,
    Placed,
    Scale,
    label_x,
    layout,
    ticks,
)
from api.timeline.svg import SVG_NS, line, rect, sub
from domain.entities import MilestoneStatus
from domain.rules import Health

# Primer's accessible palette: each has at least 4.5:1 contrast on white, and the achieved
# states differ from the open ones by fill as well as by hue (colour is never the only cue).
HEALTH_COLOURS: dict[Health, str] = {
    Health.ON_TRACK: "#1a7f37",
    Health.AT_RISK: "#9a6700",
    Health.OVERDUE: "#cf222e",
    Health.ACHIEVED_ON_TIME: "#0969da",
    Health.ACHIEVED_LATE: "#8250df",
    Health.CANCELLED: "#6e7781",
}
TODAY_COLOUR = "#d1242f"
TEXT = "#1f2328"
MUTED = "#59636e"


def render_timeline(project: ProjectPublic, today: date, as_of: datetime | None = None) -> str:
    """The SVG text: phases as bands, milestones as diamonds at their due dates.

    A baseline that differs from the due date is a hollow circle joined to the diamond by a
    dashed line (the slip); achieved milestones are filled and labelled with the day they were
    achieved (in the project's time zone); `today` is a vertical line. A dependency (R16) is
    an arrow from the predecessor's diamond to its successor's, and an open milestone forecast
    after its due (R18) has a faded, dashed ghost diamond on the forecast day.
    """
    zone = ZoneInfo(project.timezone)
    laid = layout(project, today)
    height = laid.height
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "width": str(WIDTH),
            "height": str(height),
            "viewBox": f"0 0 {WIDTH} {height}",
            "role": "img",
            "aria-labelledby": "timeline-title timeline-desc",
            "font-family": "'DejaVu Sans', 'Liberation Sans', Arial, sans-serif",
            "font-size": "12",
            "data-first-day": laid.first.isoformat(),
            "data-last-day": laid.last.isoformat(),
        },
    )
    when = f" as recorded at {text.instant(as_of.astimezone(zone))}" if as_of else ""
    sub(svg, "title", {"id": "timeline-title"}, f"Timeline of {project.name}{when}")
    sub(svg, "desc", {"id": "timeline-desc"}, text.summary(project, today))
    rect(svg, 0, 0, WIDTH, height, fill="#ffffff")
    suffix = f" — version {project.version}{when}"
    room = TITLE_TO - TITLE_X - measure.width(suffix, TITLE_SIZE, bold=True)
    heading = f"{measure.fit(project.name, TITLE_SIZE, room, bold=True)}{suffix}"
    sub(
        svg,
        "text",
        {
            "x": str(TITLE_X),
            "y": "22",
            "font-size": str(TITLE_SIZE),
            "font-weight": "bold",
            "fill": TEXT,
        },
        heading,
    )

    bottom, rows_at = _bands(svg, laid.lanes)
    _axis(svg, laid.first, laid.last, laid.x, bottom)
    _today(svg, today, laid.x(today), bottom, as_of is not None)
    _dependencies(svg, rows_at)
    for placed, cy in rows_at:
        _milestone(svg, placed, cy)
    draw_gates(svg, project, laid.lanes, laid.x)
    _legend(svg, bottom + 24, forecasts=any(p.x_forecast is not None for p, _ in rows_at))
    return ET.tostring(svg, encoding="unicode", xml_declaration=False) + "\n"


def _bands(svg: ET.Element, lanes: list[Lane]) -> tuple[float, list[tuple[Placed, float]]]:
    """One band per phase (alternating shade, name on the left); where each milestone row sits."""
    y = float(TOP)
    rows_at: list[tuple[Placed, float]] = []
    for n, ((phase_id, name), rows) in enumerate(lanes):
        height = len(rows) * ROW + 2 * BAND_PAD
        band = sub(svg, "g", {"class": "phase", "data-id": phase_id})
        sub(band, "title", {}, f"Phase {name}")
        rect(band, 0, y, WIDTH, height, fill="#f6f8fa" if n % 2 == 0 else "#ffffff", cls="band")
        # The span of the phase's dates (due and baseline), behind its milestones.
        xs = [at for row in rows for p in row for at in (p.x_due, p.x_baseline)]
        if xs:
            lo, hi = min(xs), max(xs)
            rect(
                band,
                lo - 14,
                y + 3,
                hi - lo + 28,
                height - 6,
                fill="#ddf4ff",
                cls="phase-span",
                rx=6,
            )
        drawn = measure.fit(name, NAME_SIZE, PHASE_TO - PHASE_X, bold=True)
        sub(
            band,
            "text",
            {
                "x": str(PHASE_X),
                "y": f"{y + height / 2 + 4:.1f}",
                "font-weight": "bold",
                "fill": TEXT,
            },
            drawn,
        )
        for r, row in enumerate(rows):
            rows_at += [(p, y + BAND_PAD + r * ROW + ROW / 2) for p in row]
        y += height
    line(svg, LEFT - 8, TOP, LEFT - 8, y, stroke="#d0d7de")
    return y, rows_at


AXIS_SIZE = 12  # the picture's font size, which the tick labels inherit
AXIS_GAP = 4  # the least room between two tick labels, px


def _axis(svg: ET.Element, first: date, last: date, x: Scale, bottom: float) -> None:
    axis = sub(svg, "g", {"class": "axis", "aria-hidden": "true"})
    marks = ticks(first, last)
    shown = set(_fitting_labels(marks, x))
    for day, label in marks:
        line(axis, x(day), TOP - 6, x(day), bottom, stroke="#d0d7de", dash="2 3")
        if (day, label) not in shown:
            continue
        sub(
            axis,
            "text",
            {"x": f"{x(day):.1f}", "y": str(TOP - 12), "text-anchor": "middle", "fill": MUTED},
            label,
        )


def _fitting_labels(marks: list[tuple[date, str]], x: Scale) -> list[tuple[date, str]]:
    """The tick labels that do not overlap (issue 19: "28 Dec" under "4 Jan 2027"): in order,
    a label that would touch the one before is left out, unless it names a year the one
    before does not, which then gives way to it (the year is what a reader must not miss)."""
    kept: list[tuple[date, str, float, float]] = []
    for day, label in marks:
        half = measure.width(label, AXIS_SIZE) / 2
        lo, hi = x(day) - half, x(day) + half
        if kept and lo < kept[-1][3] + AXIS_GAP:
            if day.year == kept[-1][0].year or len(label) <= len(kept[-1][1]):
                continue
            kept.pop()
            if kept and lo < kept[-1][3] + AXIS_GAP:
                continue
        kept.append((day, label, lo, hi))
    return [(day, label) for day, label, _, _ in kept]


def _today(svg: ET.Element, today: date, at: float, bottom: float, past: bool) -> None:
    group = sub(svg, "g", {"class": "today", "data-date": today.isoformat()})
    word = "as of" if past else "today"
    sub(group, "title", {}, f"{word} {today.isoformat()}")
    line(group, at, TOP - 28, at, bottom + 4, stroke=TODAY_COLOUR, width="2", cls="today")
    sub(
        group,
        "text",
        {
            "x": f"{at:.1f}",
            "y": str(TOP - 32),
            "text-anchor": "middle",
            "fill": TODAY_COLOUR,
            "font-weight": "bold",
        },
        f"{word} {text.day(today)}",
    )


def _milestone(svg: ET.Element, placed: Placed, cy: float) -> None:
    m = placed.milestone
    colour = HEALTH_COLOURS[m.health]
    group = sub(
        svg,
        "g",
        {
            "class": "milestone",
            "data-id": str(m.id),
            "data-health": m.health.value,
            "data-status": m.status.value,
            "data-due": m.due.isoformat(),
            "data-baseline-due": m.baseline_due.isoformat(),
        },
    )
    sub(group, "title", {}, text.describe(m, placed.achieved_on))
    if m.baseline_due != m.due:
        toward = DIAMOND if placed.x_baseline < placed.x_due else -DIAMOND
        line(
            group,
            placed.x_baseline,
            cy,
            placed.x_due - toward,
            cy,
            stroke=colour,
            width="2",
            dash="5 3",
            cls="slip",
        )
        sub(
            group,
            "circle",
            {
                "class": "baseline",
                "cx": f"{placed.x_baseline:.2f}",
                "cy": f"{cy:.1f}",
                "r": "4.5",
                "fill": "#ffffff",
                "stroke": MUTED,
                "stroke-width": "1.5",
            },
        )
    if placed.x_forecast is not None:
        _ghost(group, placed, cy, colour)
    filled = m.status is MilestoneStatus.ACHIEVED
    d = DIAMOND
    points = [
        (placed.x_due, cy - d),
        (placed.x_due + d, cy),
        (placed.x_due, cy + d),
        (placed.x_due - d, cy),
    ]
    sub(
        group,
        "polygon",
        {
            "class": "due",
            "points": " ".join(f"{px:.2f},{py:.1f}" for px, py in points),
            "fill": colour if filled else "#ffffff",
            "stroke": colour,
            "stroke-width": "2.5",
            **({"stroke-dasharray": "3 2"} if m.status is MilestoneStatus.CANCELLED else {}),
        },
    )
    xs = [placed.x_due, placed.x_baseline]
    if placed.x_forecast is not None:
        xs.append(placed.x_forecast)
    tx = label_x(min(xs), max(xs), left=placed.label_left)
    common = {"x": f"{tx:.1f}", "text-anchor": "end" if placed.label_left else "start"}
    sub(
        group,
        "text",
        {**common, "y": f"{cy - 2:.1f}", "fill": TEXT, "class": "name"},
        placed.name_text,
    )
    sub(
        group,
        "text",
        {
            **common,
            "y": f"{cy + 12:.1f}",
            "fill": colour if filled else MUTED,
            "font-size": str(DATE_SIZE),
            "class": "achieved" if filled else "when",
        },
        placed.date_text,
    )


def _diamond(cx: float, cy: float, d: float) -> str:
    points = [(cx, cy - d), (cx + d, cy), (cx, cy + d), (cx - d, cy)]
    return " ".join(f"{px:.2f},{py:.1f}" for px, py in points)


def _ghost(group: ET.Element, placed: Placed, cy: float, colour: str) -> None:
    """R18: a dotted line from the due date to a hollow, faded diamond on the forecast day."""
    assert placed.x_forecast is not None
    forecast = placed.milestone.forecast_due
    assert forecast is not None
    line(
        group,
        placed.x_due + DIAMOND,
        cy,
        placed.x_forecast - DIAMOND,
        cy,
        stroke=colour,
        width="1.5",
        dash="1 3",
        cls="forecast-slip",
    )
    ghost = sub(
        group,
        "polygon",
        {
            "class": "forecast",
            "data-forecast-due": forecast.isoformat(),
            "points": _diamond(placed.x_forecast, cy, DIAMOND),
            "fill": "none",
            "stroke": colour,
            "stroke-width": "1.5",
            "stroke-dasharray": "2 2",
            "opacity": "0.7",
        },
    )
    sub(ghost, "title", {}, f"forecast {forecast.isoformat()}")


def _dependencies(svg: ET.Element, rows_at: list[tuple[Placed, float]]) -> None:
    """R16: an arrow from each predecessor's diamond to its successor's (finish-to-finish),
    under the milestones; none when the project has no dependency (the picture is as before)."""
    at = {str(p.milestone.id): (p.x_due, cy) for p, cy in rows_at}
    pairs = [
        (str(predecessor.id), str(p.milestone.id), predecessor.lag_days)
        for p, _ in rows_at
        for predecessor in p.milestone.predecessors
        if str(predecessor.id) in at
    ]
    if not pairs:
        return
    defs = sub(svg, "defs", {})
    marker = sub(
        defs,
        "marker",
        {
            "id": "arrow",
            "viewBox": "0 0 10 10",
            "refX": "9",
            "refY": "5",
            "markerWidth": "7",
            "markerHeight": "7",
            "orient": "auto-start-reverse",
        },
    )
    sub(marker, "path", {"d": "M 0 0 L 10 5 L 0 10 z", "fill": MUTED})
    group = sub(svg, "g", {"class": "dependencies"})
    for before, after, lag in pairs:
        (x1, y1), (x2, y2) = at[before], at[after]
        arrow = sub(
            group,
            "path",
            {
                "class": "dependency",
                "data-from": before,
                "data-to": after,
                "data-lag-days": str(lag),
                # Leaves the predecessor's right tip, bends halfway, ends at the successor's
                # left tip: readable when the two are in other rows or out of order.
                "d": f"M {x1 + DIAMOND:.2f} {y1:.1f} C {x1 + 40:.2f} {y1:.1f}, "
                f"{x2 - 40:.2f} {y2:.1f}, {x2 - DIAMOND - 1:.2f} {y2:.1f}",
                "fill": "none",
                "stroke": MUTED,
                "stroke-width": "1.2",
                "marker-end": "url(#arrow)",
            },
        )
        sub(arrow, "title", {}, f"finishes after its predecessor (lag {lag} days)")


def _legend(svg: ET.Element, y: float, *, forecasts: bool = False) -> None:
    legend = sub(svg, "g", {"class": "legend"})
    x = 12.0
    for health, label in text.HEALTH_LABELS.items():
        colour = HEALTH_COLOURS[health]
        filled = health in (Health.ACHIEVED_ON_TIME, Health.ACHIEVED_LATE)
        d = 6
        sub(
            legend,
            "polygon",
            {
                "points": f"{x + d},{y - d} {x + 2 * d},{y} {x + d},{y + d} {x},{y}",
                "fill": colour if filled else "#ffffff",
                "stroke": colour,
                "stroke-width": "2",
            },
        )
        sub(legend, "text", {"x": f"{x + 2 * d + 6}", "y": f"{y + 4}", "fill": TEXT}, label)
        x += 2 * d + 14 + len(label) * CHAR_W
    x += 10
    line(legend, x, y, x + 26, y, stroke=MUTED, width="2", dash="5 3")
    sub(
        legend,
        "circle",
        {
            "cx": f"{x}",
            "cy": f"{y}",
            "r": "4.5",
            "fill": "#ffffff",
            "stroke": MUTED,
            "stroke-width": "1.5",
        },
    )
    sub(legend, "text", {"x": f"{x + 34}", "y": f"{y + 4}", "fill": TEXT}, "baseline → due (slip)")
    x += 34 + 22 * CHAR_W
    line(legend, x, y - 8, x, y + 8, stroke=TODAY_COLOUR, width="2")
    sub(legend, "text", {"x": f"{x + 8}", "y": f"{y + 4}", "fill": TEXT}, "today")
    if forecasts:
        x += 8 + 6 * CHAR_W
        sub(
            legend,
            "polygon",
            {
                "points": _diamond(x + 6, y, 6),
                "fill": "none",
                "stroke": MUTED,
                "stroke-width": "1.5",
                "stroke-dasharray": "2 2",
            },
        )
        sub(legend, "text", {"x": f"{x + 18}", "y": f"{y + 4}", "fill": TEXT}, "forecast")
