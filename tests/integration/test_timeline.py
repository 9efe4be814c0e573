"""The timeline picture: the SVG is parsed and checked against the schedule it draws."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.bootstrap import Container
from api.timeline import HEALTH_COLOURS
from application.access import GlobalRole
from domain.rules import Health
from tests.integration.conftest import User, Users
from tests.integration.scripted import ok

NS = {"svg": "http://www.w3.org/2000/svg"}


@dataclass
class Plan:
    pid: str
    manager: User
    stranger: User
    auditor: User
    ids: dict[str, str]  # milestone name → id
    before_changes: datetime  # every milestone defined; nothing approved, slipped or achieved
    position: int


@pytest.fixture(scope="module")
def plan(container: Container, client: TestClient) -> Plan:
    users = Users(container, client)
    alice, bob = users("alice"), users("bob")
    today = datetime.now(UTC).date()
    pid = ok(alice.post("/v1/projects", {"name": "Bridge survey"}))["project_id"]
    base = f"/v1/projects/{pid}"
    ok(alice.post(f"{base}/members", {"principal": bob.name, "role": "reviewer"}))
    design = ok(alice.post(f"{base}/phases", {"name": "Design"}))["phase_id"]
    build = ok(alice.post(f"{base}/phases", {"name": "Build"}))["phase_id"]

    def deliverable(title: str) -> tuple[str, str]:
        did = ok(alice.post(f"{base}/deliverables", {"title": title, "phase_id": design}))
        cid = ok(
            alice.post(f"{base}/deliverables/{did['deliverable_id']}/criteria", {"text": "ok"})
        )
        return did["deliverable_id"], cid["criterion_id"]

    survey, survey_c = deliverable("Survey report")
    drawings, _ = deliverable("Drawings")

    def milestone(name: str, phase: str, days: int, *dids: str) -> str:
        body = {
            "name": name,
            "phase_id": phase,
            "due": (today + timedelta(days=days)).isoformat(),
            "deliverable_ids": list(dids),
        }
        mid: str = ok(alice.post(f"{base}/milestones", body))["milestone_id"]
        return mid

    ids = {
        "Survey accepted": milestone("Survey accepted", design, 3, survey),
        "Drawings ready": milestone("Drawings ready", design, 4, drawings),
        "Site cleared": milestone("Site cleared", build, -5),
        "Foundations poured": milestone("Foundations poured", build, 20),
        "Bridge opened": milestone("Bridge opened", build, 60),
        "Ferry retired": milestone("Ferry retired", build, 70),
    }
    before_changes = datetime.now(UTC)
    ok(alice.post(f"{base}/deliverables/{survey}/criteria/{survey_c}/evidence", {"evidence": "u"}))
    ok(alice.post(f"{base}/deliverables/{survey}/submit", {}))
    ok(bob.post(f"{base}/deliverables/{survey}/approve", {}))
    ok(alice.post(f"{base}/milestones/{ids['Survey accepted']}/achieve", {}))
    ok(
        alice.post(
            f"{base}/milestones/{ids['Foundations poured']}/reschedule",
            {"due": (today + timedelta(days=30)).isoformat(), "reason": "concrete shortage"},
        )
    )
    last = ok(alice.post(f"{base}/milestones/{ids['Ferry retired']}/cancel", {"reason": "kept"}))
    return Plan(
        pid,
        alice,
        users("stranger"),
        users("auditor", GlobalRole.AUDITOR),
        ids,
        before_changes,
        last["position"],
    )


# --- reading the picture -----------------------------------------------------------------------


def picture(user: User, pid: str, **params: str) -> ET.Element:
    response = user.get(f"/v1/projects/{pid}/timeline.svg", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "<script" not in response.text
    return ET.fromstring(response.text)


def milestones_drawn(svg: ET.Element) -> dict[str, ET.Element]:
    return {g.attrib["data-id"]: g for g in svg.iterfind(".//svg:g[@class='milestone']", NS)}


def diamond(group: ET.Element) -> ET.Element:
    found = group.find("svg:polygon[@class='due']", NS)
    assert found is not None
    return found


def centre_x(group: ET.Element) -> float:
    xs = [float(point.split(",")[0]) for point in diamond(group).attrib["points"].split()]
    return sum(xs) / len(xs)


def schedule_milestones(user: User, pid: str, position: int) -> dict[str, dict[str, Any]]:
    schedule = ok(user.get(f"/v1/projects/{pid}/schedule", params={"min_position": position}))
    return {m["id"]: m for phase in schedule["phases"] for m in phase["milestones"]}


def pixels_per_day(drawn: dict[str, ET.Element], plan: dict[str, dict[str, Any]]) -> float:
    (a, b) = sorted(plan.values(), key=lambda m: m["due"])[:: len(plan) - 1]
    days = (date.fromisoformat(b["due"]) - date.fromisoformat(a["due"])).days
    return (centre_x(drawn[b["id"]]) - centre_x(drawn[a["id"]])) / days


# --- tests -------------------------------------------------------------------------------------


def test_every_milestone_is_drawn_further_right_the_later_it_is_due(plan: Plan) -> None:
    scheduled = schedule_milestones(plan.manager, plan.pid, plan.position)
    drawn = milestones_drawn(picture(plan.manager, plan.pid))

    assert set(drawn) == set(scheduled)
    by_due = sorted(scheduled.values(), key=lambda m: m["due"])
    xs = [centre_x(drawn[m["id"]]) for m in by_due]
    assert xs == sorted(xs)
    assert len(set(xs)) == len(xs)  # every due date here differs


def test_each_milestone_is_coloured_by_the_health_the_schedule_reports(plan: Plan) -> None:
    scheduled = schedule_milestones(plan.manager, plan.pid, plan.position)
    drawn = milestones_drawn(picture(plan.manager, plan.pid))

    colours = {mid: diamond(g).attrib["stroke"] for mid, g in drawn.items()}
    assert colours == {mid: HEALTH_COLOURS[Health(m["health"])] for mid, m in scheduled.items()}
    assert {m["health"] for m in scheduled.values()} == {
        "achieved_on_time",
        "at_risk",
        "overdue",
        "on_track",
        "cancelled",
    }


def test_a_baseline_marker_sits_the_slip_to_the_left_of_the_diamond(plan: Plan) -> None:
    scheduled = schedule_milestones(plan.manager, plan.pid, plan.position)
    drawn = milestones_drawn(picture(plan.manager, plan.pid))
    slipped = drawn[plan.ids["Foundations poured"]]

    baseline = slipped.find("svg:circle[@class='baseline']", NS)
    assert baseline is not None
    slip_days = scheduled[plan.ids["Foundations poured"]]["slip_days"]
    assert slip_days == 10
    offset = centre_x(slipped) - float(baseline.attrib["cx"])
    assert offset == pytest.approx(slip_days * pixels_per_day(drawn, scheduled), abs=0.05)
    assert slipped.find("svg:line[@class='slip']", NS) is not None
    # Milestones that never slipped have no baseline marker.
    unslipped = [g for mid, g in drawn.items() if scheduled[mid]["slip_days"] == 0]
    assert all(g.find("svg:circle[@class='baseline']", NS) is None for g in unslipped)


def test_an_achieved_milestone_is_filled_and_labelled_with_the_day_achieved(plan: Plan) -> None:
    scheduled = schedule_milestones(plan.manager, plan.pid, plan.position)
    drawn = milestones_drawn(picture(plan.manager, plan.pid))
    achieved = scheduled[plan.ids["Survey accepted"]]
    group = drawn[achieved["id"]]

    assert diamond(group).attrib["fill"] == diamond(group).attrib["stroke"]
    label = group.find("svg:text[@class='achieved']", NS)
    assert label is not None
    assert label.text is not None
    day = datetime.fromisoformat(achieved["achieved_at"]).date()  # the project's zone is UTC
    assert f"achieved {day.day} {day:%b %Y}" in label.text
    open_ones = [g for mid, g in drawn.items() if not scheduled[mid]["achieved"]]
    assert all(diamond(g).attrib["fill"] == "#ffffff" for g in open_ones)


def test_today_is_a_line_at_todays_date(plan: Plan) -> None:
    scheduled = schedule_milestones(plan.manager, plan.pid, plan.position)
    svg = picture(plan.manager, plan.pid)
    drawn = milestones_drawn(svg)
    line = svg.find(".//svg:line[@class='today']", NS)
    assert line is not None

    today = ok(plan.manager.get(f"/v1/projects/{plan.pid}/schedule"))["today"]
    some = scheduled[plan.ids["Bridge opened"]]
    days = (date.fromisoformat(today) - date.fromisoformat(some["due"])).days
    expected = centre_x(drawn[some["id"]]) + days * pixels_per_day(drawn, scheduled)
    assert float(line.attrib["x1"]) == pytest.approx(expected, abs=0.05)


def test_as_of_draws_the_plan_as_it_was_recorded_then(plan: Plan) -> None:
    instant = plan.before_changes.isoformat()
    past = ok(plan.manager.get(f"/v1/projects/{plan.pid}", params={"as_of": instant}))
    svg = picture(plan.manager, plan.pid, as_of=instant)
    drawn = milestones_drawn(svg)

    then = {m["id"]: m for m in past["milestones"]}
    assert {mid: g.attrib["data-due"] for mid, g in drawn.items()} == {
        mid: m["due"] for mid, m in then.items()
    }
    assert {mid: diamond(g).attrib["stroke"] for mid, g in drawn.items()} == {
        mid: HEALTH_COLOURS[Health(m["health"])] for mid, m in then.items()
    }
    # Nothing had slipped or been achieved yet.
    assert svg.find(".//svg:circle[@class='baseline']", NS) is None
    assert all(diamond(g).attrib["fill"] == "#ffffff" for g in drawn.values())
    title = svg.find("svg:title", NS)
    assert title is not None
    assert title.text is not None
    assert "as recorded at" in title.text


def test_the_timeline_is_for_members_and_auditors_only(plan: Plan, client: TestClient) -> None:
    path = f"/v1/projects/{plan.pid}/timeline.svg"

    assert client.get(path).status_code == 401
    assert plan.stranger.get(path).status_code == 404
    assert plan.auditor.get(path).status_code == 200


def test_as_of_before_the_project_existed_is_not_found(plan: Plan) -> None:
    path = f"/v1/projects/{plan.pid}/timeline.svg"
    long_ago = datetime(2000, 1, 1, tzinfo=UTC).isoformat()

    response = plan.manager.get(path, params={"as_of": long_ago})

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_as_of_without_a_time_zone_is_refused(plan: Plan) -> None:
    response = plan.manager.get(
        f"/v1/projects/{plan.pid}/timeline.svg", params={"as_of": "2026-01-01T10:00:00"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_as_of_beyond_the_calendar_is_refused_not_a_server_error(plan: Plan) -> None:
    response = plan.manager.get(
        f"/v1/projects/{plan.pid}/timeline.svg", params={"as_of": "9999-12-31T23:59:59Z"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
