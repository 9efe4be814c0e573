"""Where everything sits on the timeline: the day scale, each phase's rows of milestones (packed so
labels never overlap) and the axis ticks. No drawing here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from api.schemas import MilestonePublic, ProjectPublic
from api.timeline import measure, text
from domain.states import MilestoneStatus

WIDTH = 1100
LEFT = 180  # the phase names' column
RIGHT = 30
TOP = 74  # title and date axis
ROW = 42  # one row of milestones inside a phase band
BAND_PAD = 6
LEGEND = 56
DIAMOND = 8  # half-diagonal of a milestone's diamond
CHAR_W = 7.0  # rough width of a 12px DejaVu Sans character (the legend's fixed words)
LABEL_GAP = 10
NAME_SIZE = 12  # px: a milestone's name; its date line is DATE_SIZE
DATE_SIZE = 11
EDGE = 4  # no label comes nearer the canvas's right edge, or the phase column, than this
LABELS_FROM = LEFT  # milestone labels stay right of this (the phase column's rule is at LEFT - 8)
LABELS_TO = WIDTH - EDGE
PHASE_X = 12  # a phase's name, bold, from here to PHASE_TO
PHASE_TO = LEFT - 8 - EDGE
TITLE_X = 12  # the picture's title, bold 15 px, from here to TITLE_TO
TITLE_SIZE = 15
TITLE_TO = WIDTH - 12
MARGIN_DAYS = 7

Scale = Callable[[date], float]


@dataclass(frozen=True)
class Placed:
    milestone: MilestonePublic
    x_due: float
    x_baseline: float
    achieved_on: date | None
    label_left: bool  # the label sits left of the diamond when it would run off the right
    start: float
    end: float
    # R18: where the ghost diamond of an open milestone forecast after its due sits, if any.
    x_forecast: float | None = None
    # The two lines of the label as drawn: shortened with "…" to fit its room (see `_place`).
    name_text: str = ""
    date_text: str = ""


# A phase (its id and name) and its milestones, row by row.
Lane = tuple[tuple[str, str], list[list[Placed]]]


@dataclass(frozen=True)
class Layout:
    first: date  # the first and last day drawn
    last: date
    x: Scale  # a day's x coordinate
    lanes: list[Lane]
    height: int


def layout(project: ProjectPublic, today: date) -> Layout:
    """The days shown (every due, baseline and achievement, and today, with a margin), the
    scale that fits them into the width, and the lanes; achievements count on their day in the
    project's time zone."""
    zone = ZoneInfo(project.timezone)
    achieved_on = {
        m.id: m.achieved_at.astimezone(zone).date() for m in project.milestones if m.achieved_at
    }
    # R24: the days the phases' standing gate decisions were taken.
    days = [today, *achieved_on.values(), *decided_days(project)]
    for m in project.milestones:
        days += [m.due, m.baseline_due]
        if late_forecast(m) is not None:
            days.append(m.forecast_due or m.due)
    first = shift(min(days), -MARGIN_DAYS)
    last = shift(max(days), MARGIN_DAYS)
    scale = (WIDTH - LEFT - RIGHT) / max((last - first).days, 1)

    def x(day: date) -> float:
        return round(LEFT + (day - first).days * scale, 2)

    lanes = _lanes(project, x, achieved_on)
    height = TOP + sum(len(rows) * ROW + 2 * BAND_PAD for _, rows in lanes) + LEGEND
    return Layout(first, last, x, lanes, height)


def decided_days(project: ProjectPublic) -> list[date]:
    """R24: the days (in the project's time zone) the phases' standing gate decisions were
    taken, where their markers sit."""
    zone = ZoneInfo(project.timezone)
    return [
        p.decision.decided_at.astimezone(zone).date()
        for p in project.phases
        if p.exit_gate and p.decision is not None
    ]


def _lanes(project: ProjectPublic, x: Scale, achieved_on: dict[UUID, date]) -> list[Lane]:
    """Per phase, its milestones packed into as few rows as keep their labels apart."""
    lanes: list[Lane] = []
    for phase in project.phases:
        mine = sorted(
            (m for m in project.milestones if m.phase_id == phase.id),
            key=lambda m: (m.due, m.name),
        )
        rows: list[list[Placed]] = []
        for m in mine:
            placed = _place(m, x, achieved_on.get(m.id))
            row = next((r for r in rows if r[-1].end + LABEL_GAP < placed.start), None)
            if row is None:
                rows.append([placed])
            else:
                row.append(placed)
        lanes.append(((str(phase.id), phase.name), rows or [[]]))
    return lanes


def late_forecast(m: MilestonePublic) -> date | None:
    """R18: the forecast of an open milestone forecast after its due date, else None."""
    if m.status is MilestoneStatus.NOT_ACHIEVED and m.forecast_due and m.forecast_due > m.due:
        return m.forecast_due
    return None


def _place(m: MilestonePublic, x: Scale, achieved_on: date | None) -> Placed:
    """The milestone's marks and its label: right of its marks if it fits there, else left if
    it fits there, else shortened to the larger room. A label never crosses into the phase
    column (LABELS_FROM) nor off the canvas (LABELS_TO), for any name R15 accepts."""
    x_due, x_baseline = x(m.due), x(m.baseline_due)
    forecast = late_forecast(m)
    x_forecast = None if forecast is None else x(forecast)
    name, when = measure.one_line(m.name), text.date_line(m, achieved_on)
    xs = [x_due, x_baseline] + ([] if x_forecast is None else [x_forecast])
    lo, hi = min(xs), max(xs)
    right_room = LABELS_TO - label_x(lo, hi, left=False)
    left_room = label_x(lo, hi, left=True) - LABELS_FROM
    full = max(measure.width(name, NAME_SIZE), measure.width(when, DATE_SIZE))
    if full <= right_room:
        left, room = False, right_room
    elif full <= left_room:
        left, room = True, left_room
    else:
        left, room = left_room > right_room, max(left_room, right_room, 0.0)
    name = measure.fit(name, NAME_SIZE, room)
    when = measure.fit(when, DATE_SIZE, room)
    label = max(measure.width(name, NAME_SIZE), measure.width(when, DATE_SIZE))
    if left:
        start, end = lo - LABEL_GAP - 2 - label, hi + 8
    else:
        start, end = lo - 8, hi + LABEL_GAP + 2 + label
    return Placed(m, x_due, x_baseline, achieved_on, left, start, end, x_forecast, name, when)


def label_x(lo: float, hi: float, *, left: bool) -> float:
    """Where a label's text is anchored: its end left of the marks, or its start right (to
    the tenth of a pixel the picture writes)."""
    return round(lo - LABEL_GAP - 2 if left else hi + LABEL_GAP + 2, 1)


MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60, 120, 600, 1200, 6000)
MAX_TICKS = 16


def ticks(first: date, last: date) -> list[tuple[date, str]]:
    """Mondays for a short plan, else the first of every n-th month: never more than ~16."""
    span = (last - first).days
    if span <= 120:
        monday = shift(first, -first.weekday() % 7)
        count = (last - monday).days // 7 + 1
        mondays = [shift(monday, 7 * n) for n in range(count)]
        # A tick that crosses into a new year says which (issue 19: "4 Jan" after "28 Dec").
        return [
            (d, text.day(d, year=n > 0 and d.year != mondays[n - 1].year))
            for n, d in enumerate(mondays)
        ]
    months = span / 30.44
    step = next((s for s in MONTH_STEPS if months / s <= MAX_TICKS), MONTH_STEPS[-1])
    index = first.year * 12 + first.month - 1
    index += -index % step  # the first multiple of the step on or after `first`'s month
    found = []
    while index // 12 <= last.year:
        tick = date(index // 12, index % 12 + 1, 1)
        if first <= tick <= last:
            found.append((tick, f"{tick:%b %Y}" if step < 12 else str(tick.year)))
        index += step
    return found


def shift(value: date, days: int) -> date:
    """`value` moved by `days`, stopping at the first or last day Python can hold."""
    try:
        return value + timedelta(days=days)
    except OverflowError:
        return date.min if days < 0 else date.max
