"""Draws a project's schedule as a self-contained SVG timeline (no script, no external assets)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from api.schemas import MilestonePublic, ProjectPublic
from domain.entities import MilestoneStatus
from domain.rules import Health

SVG_NS = "http://www.w3.org/2000/svg"

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
HEALTH_LABELS: dict[Health, str] = {
    Health.ON_TRACK: "on track",
    Health.AT_RISK: "at risk",
    Health.OVERDUE: "overdue",
    Health.ACHIEVED_ON_TIME: "achieved on time",
    Health.ACHIEVED_LATE: "achieved late",
    Health.CANCELLED: "cancelled",
}
TODAY_COLOUR = "#d1242f"
TEXT = "#1f2328"
MUTED = "#59636e"

WIDTH = 1100
LEFT = 180  # the phase names' column
RIGHT = 30
TOP = 74  # title and date axis
ROW = 42  # one row of milestones inside a phase band
BAND_PAD = 6
LEGEND = 56
DIAMOND = 8  # half-diagonal of a milestone's diamond
CHAR_W = 7.0  # rough width of a 12px DejaVu Sans character, to keep labels from overlapping
LABEL_GAP = 10
MARGIN_DAYS = 7

_Scale = Callable[[date], float]


@dataclass(frozen=True)
class _Placed:
    milestone: MilestonePublic
    x_due: float
    x_baseline: float
    achieved_on: date | None
    label_left: bool  # the label sits left of the diamond when it would run off the right
    start: float
    end: float


def render_timeline(project: ProjectPublic, today: date, as_of: datetime | None = None) -> str:
    """The SVG text: phases as bands, milestones as diamonds at their due dates.

    A baseline that differs from the due date is a hollow circle joined to the diamond by a
    dashed line (the slip); achieved milestones are filled and labelled with the day they were
    achieved (in the project's time zone); `today` is a vertical line.
    """
    zone = ZoneInfo(project.timezone)
    achieved_on = {
        m.id: m.achieved_at.astimezone(zone).date() for m in project.milestones if m.achieved_at
    }
    days = [today, *achieved_on.values()]
    for m in project.milestones:
        days += [m.due, m.baseline_due]
    first = _shift(min(days), -MARGIN_DAYS)
    last = _shift(max(days), MARGIN_DAYS)
    scale = (WIDTH - LEFT - RIGHT) / max((last - first).days, 1)

    def x(day: date) -> float:
        return round(LEFT + (day - first).days * scale, 2)

    lanes = _lanes(project, x, achieved_on)
    height = TOP + sum(len(rows) * ROW + 2 * BAND_PAD for _, rows in lanes) + LEGEND
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
            "data-first-day": first.isoformat(),
            "data-last-day": last.isoformat(),
        },
    )
    when = f" as recorded at {_instant(as_of.astimezone(zone))}" if as_of else ""
    _sub(svg, "title", {"id": "timeline-title"}, f"Timeline of {project.name}{when}")
    _sub(svg, "desc", {"id": "timeline-desc"}, _summary(project, today))
    _rect(svg, 0, 0, WIDTH, height, fill="#ffffff")
    _sub(
        svg,
        "text",
        {"x": "12", "y": "22", "font-size": "15", "font-weight": "bold", "fill": TEXT},
        f"{project.name} — version {project.version}{when}",
    )

    bottom, rows_at = _bands(svg, lanes)
    _axis(svg, first, last, x, bottom)
    _today(svg, today, x(today), bottom, as_of is not None)
    for placed, cy in rows_at:
        _milestone(svg, placed, cy)
    _legend(svg, bottom + 24)
    return ET.tostring(svg, encoding="unicode", xml_declaration=False) + "\n"


# --- layout ----------------------------------------------------------------------------------


def _lanes(
    project: ProjectPublic, x: _Scale, achieved_on: dict[UUID, date]
) -> list[tuple[tuple[str, str], list[list[_Placed]]]]:
    """Per phase, its milestones packed into as few rows as keep their labels apart."""
    lanes: list[tuple[tuple[str, str], list[list[_Placed]]]] = []
    for phase in project.phases:
        mine = sorted(
            (m for m in project.milestones if m.phase_id == phase.id),
            key=lambda m: (m.due, m.name),
        )
        rows: list[list[_Placed]] = []
        for m in mine:
            placed = _place(m, x, achieved_on.get(m.id))
            row = next((r for r in rows if r[-1].end + LABEL_GAP < placed.start), None)
            if row is None:
                rows.append([placed])
            else:
                row.append(placed)
        lanes.append(((str(phase.id), phase.name), rows or [[]]))
    return lanes


def _place(m: MilestonePublic, x: _Scale, achieved_on: date | None) -> _Placed:
    x_due, x_baseline = x(m.due), x(m.baseline_due)
    label = max(len(m.name), len(_date_line(m, achieved_on))) * CHAR_W
    lo, hi = min(x_due, x_baseline), max(x_due, x_baseline)
    left = hi + LABEL_GAP + label > WIDTH - RIGHT + 20
    if left:
        return _Placed(m, x_due, x_baseline, achieved_on, True, lo - LABEL_GAP - label, hi + 8)
    return _Placed(m, x_due, x_baseline, achieved_on, False, lo - 8, hi + LABEL_GAP + label)


def _date_line(m: MilestonePublic, achieved_on: date | None) -> str:
    if m.status is MilestoneStatus.CANCELLED:
        return f"cancelled · was due {_day(m.due)}"
    slip = f" ({m.slip_days:+d} d)" if m.slip_days else ""
    if achieved_on is not None:
        return f"achieved {_day(achieved_on)} · due {_day(m.due)}{slip}"
    return f"due {_day(m.due)}{slip}"


# --- drawing ---------------------------------------------------------------------------------


def _bands(
    svg: ET.Element, lanes: list[tuple[tuple[str, str], list[list[_Placed]]]]
) -> tuple[float, list[tuple[_Placed, float]]]:
    """One band per phase (alternating shade, name on the left); where each milestone row sits."""
    y = float(TOP)
    rows_at: list[tuple[_Placed, float]] = []
    for n, ((phase_id, name), rows) in enumerate(lanes):
        height = len(rows) * ROW + 2 * BAND_PAD
        band = _sub(svg, "g", {"class": "phase", "data-id": phase_id})
        _sub(band, "title", {}, f"Phase {name}")
        _rect(band, 0, y, WIDTH, height, fill="#f6f8fa" if n % 2 == 0 else "#ffffff", cls="band")
        # The span of the phase's dates (due and baseline), behind its milestones.
        xs = [at for row in rows for p in row for at in (p.x_due, p.x_baseline)]
        if xs:
            lo, hi = min(xs), max(xs)
            _rect(
                band,
                lo - 14,
                y + 3,
                hi - lo + 28,
                height - 6,
                fill="#ddf4ff",
                cls="phase-span",
                rx=6,
            )
        _sub(
            band,
            "text",
            {"x": "12", "y": f"{y + height / 2 + 4:.1f}", "font-weight": "bold", "fill": TEXT},
            _shorten(name, 24),
        )
        for r, row in enumerate(rows):
            rows_at += [(p, y + BAND_PAD + r * ROW + ROW / 2) for p in row]
        y += height
    _line(svg, LEFT - 8, TOP, LEFT - 8, y, stroke="#d0d7de")
    return y, rows_at


def _axis(svg: ET.Element, first: date, last: date, x: _Scale, bottom: float) -> None:
    axis = _sub(svg, "g", {"class": "axis", "aria-hidden": "true"})
    for day, label in _ticks(first, last):
        _line(axis, x(day), TOP - 6, x(day), bottom, stroke="#d0d7de", dash="2 3")
        _sub(
            axis,
            "text",
            {"x": f"{x(day):.1f}", "y": str(TOP - 12), "text-anchor": "middle", "fill": MUTED},
            label,
        )


MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120, 600, 1200, 6000)
MAX_TICKS = 16


def _ticks(first: date, last: date) -> list[tuple[date, str]]:
    """Mondays for a short plan, else the first of every n-th month: never more than ~16."""
    span = (last - first).days
    if span <= 120:
        monday = _shift(first, -first.weekday() % 7)
        count = (last - monday).days // 7 + 1
        return [(d, _day(d, year=False)) for d in (_shift(monday, 7 * n) for n in range(count))]
    months = span / 30.44
    step = next((s for s in MONTH_STEPS if months / s <= MAX_TICKS), MONTH_STEPS[-1])
    index = first.year * 12 + first.month - 1
    index += -index % step  # the first multiple of the step on or after `first`'s month
    ticks = []
    while index // 12 <= last.year:
        day = date(index // 12, index % 12 + 1, 1)
        if first <= day <= last:
            ticks.append((day, f"{day:%b %Y}" if step < 12 else str(day.year)))
        index += step
    return ticks


def _today(svg: ET.Element, today: date, at: float, bottom: float, past: bool) -> None:
    group = _sub(svg, "g", {"class": "today", "data-date": today.isoformat()})
    word = "as of" if past else "today"
    _sub(group, "title", {}, f"{word} {today.isoformat()}")
    _line(group, at, TOP - 28, at, bottom + 4, stroke=TODAY_COLOUR, width="2", cls="today")
    _sub(
        group,
        "text",
        {
            "x": f"{at:.1f}",
            "y": str(TOP - 32),
            "text-anchor": "middle",
            "fill": TODAY_COLOUR,
            "font-weight": "bold",
        },
        f"{word} {_day(today)}",
    )


def _milestone(svg: ET.Element, placed: _Placed, cy: float) -> None:
    m = placed.milestone
    colour = HEALTH_COLOURS[m.health]
    group = _sub(
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
    _sub(group, "title", {}, _describe(m, placed.achieved_on))
    if m.baseline_due != m.due:
        toward = DIAMOND if placed.x_baseline < placed.x_due else -DIAMOND
        _line(
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
        _sub(
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
    filled = m.status is MilestoneStatus.ACHIEVED
    d = DIAMOND
    points = [
        (placed.x_due, cy - d),
        (placed.x_due + d, cy),
        (placed.x_due, cy + d),
        (placed.x_due - d, cy),
    ]
    _sub(
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
    if placed.label_left:
        tx, anchor = min(placed.x_due, placed.x_baseline) - LABEL_GAP - 2, "end"
    else:
        tx, anchor = max(placed.x_due, placed.x_baseline) + LABEL_GAP + 2, "start"
    common = {"x": f"{tx:.1f}", "text-anchor": anchor}
    _sub(group, "text", {**common, "y": f"{cy - 2:.1f}", "fill": TEXT, "class": "name"}, m.name)
    _sub(
        group,
        "text",
        {
            **common,
            "y": f"{cy + 12:.1f}",
            "fill": colour if filled else MUTED,
            "font-size": "11",
            "class": "achieved" if filled else "when",
        },
        _date_line(m, placed.achieved_on),
    )


def _legend(svg: ET.Element, y: float) -> None:
    legend = _sub(svg, "g", {"class": "legend"})
    x = 12.0
    for health, label in HEALTH_LABELS.items():
        colour = HEALTH_COLOURS[health]
        filled = health in (Health.ACHIEVED_ON_TIME, Health.ACHIEVED_LATE)
        d = 6
        _sub(
            legend,
            "polygon",
            {
                "points": f"{x + d},{y - d} {x + 2 * d},{y} {x + d},{y + d} {x},{y}",
                "fill": colour if filled else "#ffffff",
                "stroke": colour,
                "stroke-width": "2",
            },
        )
        _sub(legend, "text", {"x": f"{x + 2 * d + 6}", "y": f"{y + 4}", "fill": TEXT}, label)
        x += 2 * d + 14 + len(label) * CHAR_W
    x += 10
    _line(legend, x, y, x + 26, y, stroke=MUTED, width="2", dash="5 3")
    _sub(
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
    _sub(legend, "text", {"x": f"{x + 34}", "y": f"{y + 4}", "fill": TEXT}, "baseline → due (slip)")
    x += 34 + 22 * CHAR_W
    _line(legend, x, y - 8, x, y + 8, stroke=TODAY_COLOUR, width="2")
    _sub(legend, "text", {"x": f"{x + 8}", "y": f"{y + 4}", "fill": TEXT}, "today")


# --- text ------------------------------------------------------------------------------------


def _describe(m: MilestonePublic, achieved_on: date | None) -> str:
    parts = [f"{m.name}: due {m.due.isoformat()}"]
    if m.baseline_due != m.due:
        parts.append(f"baseline {m.baseline_due.isoformat()}, slipped {m.slip_days:+d} days")
    if achieved_on is not None:
        parts.append(f"achieved {achieved_on.isoformat()} by {m.achieved_by}")
    parts.append(HEALTH_LABELS[m.health])
    return "; ".join(parts)


def _summary(project: ProjectPublic, today: date) -> str:
    counts: dict[Health, int] = {}
    for m in project.milestones:
        counts[m.health] = counts.get(m.health, 0) + 1
    states = ", ".join(f"{n} {HEALTH_LABELS[h]}" for h, n in counts.items())
    return (
        f"{len(project.milestones)} milestones in {len(project.phases)} phases"
        f"{': ' + states if states else ''}; today is {today.isoformat()}."
    )


def _shift(day: date, days: int) -> date:
    """`day` moved by `days`, stopping at the first or last day Python can hold."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.min if days < 0 else date.max


def _day(day: date, *, year: bool = True) -> str:
    return f"{day.day} {day:%b %Y}" if year else f"{day.day} {day:%b}"


def _instant(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- elements --------------------------------------------------------------------------------


def _sub(
    parent: ET.Element, tag: str, attrib: dict[str, str], text: str | None = None
) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def _rect(
    parent: ET.Element,
    x: float,
    y: float,
    width: float,
    height: float,
    *,
    fill: str,
    cls: str | None = None,
    rx: float | None = None,
) -> ET.Element:
    attrib = {
        "x": f"{x:.1f}",
        "y": f"{y:.1f}",
        "width": f"{width:.1f}",
        "height": f"{height:.1f}",
        "fill": fill,
    }
    if cls:
        attrib["class"] = cls
    if rx is not None:
        attrib["rx"] = str(rx)
    return _sub(parent, "rect", attrib)


def _line(
    parent: ET.Element,
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    *,
    stroke: str,
    width: str = "1",
    dash: str | None = None,
    cls: str | None = None,
) -> ET.Element:
    attrib = {
        "x1": f"{x1:.2f}",
        "y1": f"{y1:.1f}",
        "x2": f"{x2:.2f}",
        "y2": f"{y2:.1f}",
        "stroke": stroke,
        "stroke-width": width,
    }
    if dash:
        attrib["stroke-dasharray"] = dash
    if cls:
        attrib["class"] = cls
    return _sub(parent, "line", attrib)
