"""The timeline renderer on its own: odd names, empty plans and extreme dates still draw."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from uuid import uuid4

from api.presenters import project_public
from api.schemas import MilestonePublic, PhasePublic, ProjectPublic
from api.timeline import render_timeline
from domain.entities import MilestoneStatus
from domain.project import Project
from domain.rules import Health

NS = {"svg": "http://www.w3.org/2000/svg"}
CREATED = datetime(2026, 1, 5, tzinfo=UTC)


def plan(name: str, *dues: date) -> ProjectPublic:
    phase = PhasePublic(id=uuid4(), name=name)
    return ProjectPublic(
        id=uuid4(),
        name=name,
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
            MilestonePublic(
                id=uuid4(),
                name=name,
                phase_id=phase.id,
                due=due,
                baseline_due=due,
                original_baseline_due=due,
                slip_days=0,
                achieved=False,
                status=MilestoneStatus.NOT_ACHIEVED,
                achieved_at=None,
                achieved_by=None,
                health=Health.ON_TRACK,
                deliverable_ids=[],
            )
            for due in dues
        ],
    )


def test_names_are_text_not_markup() -> None:
    name = '<script>alert(1)</script> & "R&D" ]]>'

    svg = ET.fromstring(render_timeline(plan(name, date(2026, 3, 1)), date(2026, 2, 1)))

    texts = [t.text for t in svg.iterfind(".//svg:text", NS)]
    assert name in texts
    assert svg.find(".//svg:script", NS) is None


def test_a_plan_without_milestones_still_draws_its_phases_and_today() -> None:
    svg = ET.fromstring(render_timeline(plan("Empty"), date(2026, 2, 1)))

    assert len(svg.findall(".//svg:g[@class='phase']", NS)) == 1
    assert svg.find(".//svg:g[@class='milestone']", NS) is None
    assert svg.find(".//svg:line[@class='today']", NS) is not None


def test_dates_at_the_ends_of_the_calendar_draw_with_few_axis_labels() -> None:
    svg = ET.fromstring(
        render_timeline(plan("Far", date(1, 1, 1), date(9999, 12, 31)), date(2026, 2, 1))
    )

    labels = svg.findall(".//svg:g[@class='axis']/svg:text", NS)
    assert 2 <= len(labels) <= 20
    assert len(svg.findall(".//svg:g[@class='milestone']", NS)) == 2


def test_a_dependency_is_an_arrow_and_a_late_forecast_a_ghost_diamond() -> None:
    project = Project.create(name="Chain", actor="alice")
    phase = project.add_phase("Build", actor="alice")
    design = project.define_milestone(
        name="Design", phase_id=phase, due=date(2026, 3, 1), deliverable_ids=[], actor="alice"
    )
    build = project.define_milestone(
        name="Build", phase_id=phase, due=date(2026, 3, 5), deliverable_ids=[], actor="alice"
    )
    project.add_dependency(build, design, 10, actor="alice")
    now = datetime(2026, 2, 1, tzinfo=UTC)

    svg = ET.fromstring(render_timeline(project_public(project, now), now.date()))

    [arrow] = svg.iterfind(".//svg:path[@class='dependency']", NS)
    assert (arrow.get("data-from"), arrow.get("data-to")) == (str(design), str(build))
    assert arrow.get("data-lag-days") == "10"
    [ghost] = svg.iterfind(".//svg:polygon[@class='forecast']", NS)
    assert ghost.get("data-forecast-due") == "2026-03-11"
    holder = svg.find(f".//svg:g[@data-id='{build}']", NS)
    assert holder is not None
    assert holder.get("data-health") == "at_risk"
    assert holder.find("svg:polygon[@class='forecast']", NS) is not None


def test_a_plan_without_dependencies_draws_no_arrow_and_no_ghost() -> None:
    svg = ET.fromstring(render_timeline(plan("Flat", date(2026, 3, 1)), date(2026, 2, 1)))

    assert svg.find(".//svg:path[@class='dependency']", NS) is None
    assert svg.find(".//svg:polygon[@class='forecast']", NS) is None
    assert svg.find(".//svg:defs", NS) is None
