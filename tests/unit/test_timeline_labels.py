"""Timeline labels that fit (issue 19): for any name the API accepts (R15, up to NAME_MAX), a
label is shortened with "…", its full text kept in the `<title>` of what it labels (the
milestone's group, the phase's band, the picture), never drawn over the phase column or off the
canvas; the project's title and the phase names likewise.

Extents are computed with the measure the layout uses (`api.timeline.measure`); where cairosvg
is installed, the labels are also rendered and their ink looked for outside their region.
"""

from __future__ import annotations

import io
import itertools
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.schemas import MilestonePublic, PhasePublic, ProjectPublic
from api.timeline import render_timeline
from api.timeline.layout import (
    LABELS_FROM,
    LABELS_TO,
    NAME_SIZE,
    PHASE_TO,
    PHASE_X,
    TITLE_TO,
    TITLE_X,
    ticks,
)
from api.timeline.measure import ELLIPSIS, fit, one_line, width
from api.timeline.render import AXIS_GAP, AXIS_SIZE, _fitting_labels
from domain.entities import MilestoneStatus
from domain.errors import DomainError
from domain.rules import Health
from domain.validation import NAME_MAX, name

NS = {"svg": "http://www.w3.org/2000/svg"}
TODAY = date(2026, 11, 26)
CREATED = datetime(2026, 1, 5, tzinfo=UTC)


def accepted(text: str) -> bool:
    """What the API accepts as a name (R14, R15, NAME_MAX)."""
    try:
        name("name", text)
    except DomainError:
        return False
    return True


# Any character of any script, weighted toward the widest ones the measure knows of.
_CHARS = st.one_of(
    st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")),
    st.sampled_from("WMW@mw%—…漢字の名前한국어😀Ж"),
)
NAMES = st.text(_CHARS, min_size=1, max_size=NAME_MAX).filter(accepted)
LONG_NAMES = st.text(st.sampled_from("WM@漢😀Ж"), min_size=60, max_size=NAME_MAX)


def milestone(
    name: str, phase: PhasePublic, due: date, baseline: date, mid: UUID | None = None
) -> MilestonePublic:
    return MilestonePublic(
        id=mid or uuid4(),
        name=name,
        phase_id=phase.id,
        due=due,
        baseline_due=baseline,
        original_baseline_due=baseline,
        slip_days=(due - baseline).days,
        achieved=False,
        status=MilestoneStatus.NOT_ACHIEVED,
        achieved_at=None,
        achieved_by=None,
        health=Health.ON_TRACK,
        deliverable_ids=[],
    )


@st.composite
def plans(draw: st.DrawFn) -> ProjectPublic:
    names = st.one_of(NAMES, LONG_NAMES)
    phases = [
        PhasePublic(id=draw(st.uuids()), name=draw(names)) for _ in range(draw(st.integers(1, 3)))
    ]
    milestones = []
    for _ in range(draw(st.integers(1, 6))):
        due = TODAY + timedelta(days=draw(st.integers(-400, 400)))
        baseline = due + timedelta(days=draw(st.sampled_from([0, 0, -30, 45])))
        milestones.append(
            milestone(draw(names), draw(st.sampled_from(phases)), due, baseline, draw(st.uuids()))
        )
    return ProjectPublic(
        id=draw(st.uuids()),
        name=draw(names),
        description="",
        timezone="UTC",
        risk_window_days=7,
        version=draw(st.integers(1, 10**6)),
        created_at=CREATED,
        updated_at=CREATED,
        members=[],
        phases=phases,
        deliverables=[],
        milestones=milestones,
    )


def extent(element: ET.Element) -> tuple[float, float]:
    """Where a `<text>` is drawn, left to right, by the layout's measure."""
    drawn = element.text or ""
    size = float(element.get("font-size", NAME_SIZE))
    wide = width(drawn, size, bold=element.get("font-weight") == "bold")
    x = float(element.get("x", "0"))
    anchor = element.get("text-anchor", "start")
    return (x - wide, x) if anchor == "end" else (x, x + wide)


def title_of(element: ET.Element) -> str:
    title = element.find("svg:title", NS)
    assert title is not None
    return title.text or ""


def assert_shortened_honestly(drawn: str, full: str) -> None:
    """The drawn text is the whole (as one line) or a start of it and "…"."""
    assert "\n" not in drawn
    assert "\r" not in drawn
    if drawn == one_line(full):
        return
    assert drawn.endswith(ELLIPSIS)
    assert one_line(full).startswith(drawn[:-1].rstrip())


def assert_within(element: ET.Element, first: float, last: float) -> None:
    """Inside [first, last], to a hundredth of a pixel (the sums of widths are floats)."""
    left, right = extent(element)
    assert left >= first - 0.01, (element.text, left)
    assert right <= last + 0.01, (element.text, right)


def labels(svg: ET.Element) -> tuple[ET.Element, list[ET.Element], list[ET.Element]]:
    title = svg.find("svg:text", NS)
    assert title is not None
    phases = svg.findall("svg:g[@class='phase']/svg:text", NS)
    milestones = svg.findall("svg:g[@class='milestone']/svg:text", NS)
    return title, phases, milestones


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_no_label_crosses_its_region_for_any_accepted_name(project: ProjectPublic) -> None:
    svg = ET.fromstring(render_timeline(project, TODAY))
    title, phases, milestones = labels(svg)

    assert_within(title, TITLE_X, TITLE_TO)
    suffix = f" — version {project.version}"
    drawn = title.text or ""
    assert drawn.endswith(suffix)
    assert_shortened_honestly(drawn.removesuffix(suffix), project.name)
    assert title_of(svg) == f"Timeline of {project.name}"
    bands = svg.findall("svg:g[@class='phase']", NS)
    for band, element, phase in zip(bands, phases, project.phases, strict=True):
        assert_within(element, PHASE_X, PHASE_TO)
        assert_shortened_honestly(element.text or "", phase.name)
        assert title_of(band) == f"Phase {phase.name}"
    by_id = {str(m.id): m for m in project.milestones}
    for group in svg.findall("svg:g[@class='milestone']", NS):
        full = by_id[group.get("data-id", "")].name
        name_line = group.find("svg:text[@class='name']", NS)
        assert name_line is not None
        assert_shortened_honestly(name_line.text or "", full)
        assert title_of(group).startswith(f"{full}: due ")
    for element in milestones:
        assert_within(element, LABELS_FROM, LABELS_TO)


def test_a_160_character_name_at_either_edge_is_shortened_inside_its_region() -> None:
    phase = PhasePublic(id=uuid4(), name="Design")
    long = "Integration of the customer portal with the legacy billing system, phase two " * 2
    early = milestone(long[:160], phase, TODAY - timedelta(days=60), TODAY - timedelta(days=60))
    late = milestone(long[:160], phase, TODAY + timedelta(days=60), TODAY + timedelta(days=60))
    project = ProjectPublic(
        id=uuid4(),
        name="A" * NAME_MAX,
        description="",
        timezone="UTC",
        risk_window_days=7,
        version=3,
        created_at=CREATED,
        updated_at=CREATED,
        members=[],
        phases=[phase],
        deliverables=[],
        milestones=[early, late],
    )

    svg = ET.fromstring(render_timeline(project, TODAY))

    groups = svg.findall("svg:g[@class='milestone']", NS)
    assert len(groups) == 2
    for group in groups:
        element = group.find("svg:text[@class='name']", NS)
        assert element is not None
        assert (element.text or "").endswith(ELLIPSIS)
        assert title_of(group).startswith(f"{long[:160]}: due ")
        assert_within(element, LABELS_FROM, LABELS_TO)


def test_a_line_break_recorded_before_r15_is_drawn_as_a_space() -> None:
    assert one_line("line1\nline2\u2028line3") == "line1 line2 line3"
    assert fit("line1\nline2", 12, 1000) == "line1 line2"


def test_a_shortened_name_never_parts_a_letter_from_its_accent() -> None:
    decomposed = "Cafe\u0301 " * 40  # "Café" with a combining acute accent

    for room in range(20, 300, 7):
        drawn = fit(decomposed, 12, room)

        assert width(drawn, 12) <= room
        assert not drawn.removesuffix(ELLIPSIS).rstrip().endswith("e")  # never "e" without "´"


def test_ink_stays_in_its_region_when_rendered_with_cairosvg() -> None:
    cairosvg = pytest.importorskip("cairosvg")
    images = pytest.importorskip("PIL.Image")  # installed with cairosvg

    phase = PhasePublic(id=uuid4(), name="W" * 60)
    wide = "W" * 200
    project = ProjectPublic(
        id=uuid4(),
        name="W" * NAME_MAX,
        description="",
        timezone="UTC",
        risk_window_days=7,
        version=1,
        created_at=CREATED,
        updated_at=CREATED,
        members=[],
        phases=[phase],
        deliverables=[],
        milestones=[
            milestone(wide, phase, TODAY - timedelta(days=90), TODAY - timedelta(days=90)),
            milestone(wide, phase, TODAY + timedelta(days=90), TODAY + timedelta(days=90)),
        ],
    )
    svg = ET.fromstring(render_timeline(project, TODAY))
    # Only the milestones' labels, black on nothing: any ink left of LABELS_FROM or right of
    # LABELS_TO is a label crossing its region.
    for child in list(svg):
        if child.get("class") != "milestone":
            svg.remove(child)
    for group in svg:
        for child in list(group):
            if child.tag != f"{{{NS['svg']}}}text":
                group.remove(child)
            else:
                child.set("fill", "#000000")
    png = cairosvg.svg2png(bytestring=ET.tostring(svg))
    image = images.open(io.BytesIO(png)).convert("RGBA")
    alpha = image.getchannel("A")
    columns = {x for x in range(image.width) for y in range(image.height) if alpha.getpixel((x, y))}
    assert columns, "nothing was drawn"
    assert min(columns) >= LABELS_FROM - 1
    assert max(columns) <= LABELS_TO + 1


def test_tick_labels_never_overlap_and_the_one_naming_a_new_year_stays() -> None:
    """Issue 19 (seen in docs/web-project.png): "28 Dec" and "4 Jan 2027" were drawn over
    each other. A label that would touch the one before is left out, unless it names a new
    year: then the one before gives way."""
    first, last = date(2026, 11, 9), date(2027, 3, 1)
    marks = ticks(first, last)

    def x(day: date) -> float:
        return 180 + (day - first).days * 54.6 / 7

    shown = _fitting_labels(marks, x)

    labels = [label for _, label in shown]
    assert "4 Jan 2027" in labels
    assert "28 Dec" not in labels
    spans = [
        (x(day) - width(label, AXIS_SIZE) / 2, x(day) + width(label, AXIS_SIZE) / 2)
        for day, label in shown
    ]
    assert all(a[1] + AXIS_GAP <= b[0] for a, b in itertools.pairwise(spans))
    assert len(shown) >= len(marks) - 3  # only the crowded ones are left out
