"""R18 over HTTP: the forecast through dependencies in the schedule view and as of an instant,
health at risk because of it, and the alignment report's chain."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.integration.conftest import User, Users

TODAY = datetime.now(UTC).date()


def day(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


def chain_project(user: User) -> tuple[str, list[str], int]:
    """Design (due +20) ← Build (+25, lag 3) ← Ship (+40, lag 10): on time as planned."""
    pid = user.post("/v1/projects", {"name": "Chain"}).json()["project_id"]
    base = f"/v1/projects/{pid}"
    phase = user.post(f"{base}/phases", {"name": "Build"}).json()["phase_id"]
    mids = [
        user.post(
            f"{base}/milestones",
            {"name": name, "phase_id": phase, "due": day(due), "deliverable_ids": []},
        ).json()["milestone_id"]
        for name, due in (("Design", 20), ("Build", 25), ("Ship", 40))
    ]
    design, build, ship = mids
    user.put(f"{base}/milestones/{build}/predecessors/{design}", json={"lag_days": 3})
    last = user.put(f"{base}/milestones/{ship}/predecessors/{build}", json={"lag_days": 10})
    assert last.status_code == 200, last.text
    return pid, mids, last.json()["position"]


def milestones_of(schedule: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for phase in schedule["phases"] for m in phase["milestones"]}


def test_the_schedule_forecasts_through_the_chain_when_the_first_slips(users: Users) -> None:
    alice = users("alice")
    pid, (design, build, _), _ = chain_project(alice)
    slipped = alice.post(
        f"/v1/projects/{pid}/milestones/{design}/reschedule",
        {"due": day(30), "reason": "supplier late"},
    )

    schedule = alice.get(
        f"/v1/projects/{pid}/schedule", params={"min_position": slipped.json()["position"]}
    ).json()

    shown = milestones_of(schedule)
    assert {name: m["forecast_due"] for name, m in shown.items()} == {
        "Design": day(30),
        "Build": day(33),
        "Ship": day(43),
    }
    # Build and Ship are outside the 7-day window: at risk only because of the forecast.
    assert {name: m["health"] for name, m in shown.items()} == {
        "Design": "on_track",
        "Build": "at_risk",
        "Ship": "at_risk",
    }
    assert shown["Ship"]["predecessors"] == [{"id": build, "lag_days": 10}]


def test_the_alignment_report_lists_the_chain_that_makes_a_milestone_late(users: Users) -> None:
    alice = users("alice")
    pid, (design, build, ship), _ = chain_project(alice)
    slipped = alice.post(
        f"/v1/projects/{pid}/milestones/{design}/reschedule",
        {"due": day(30), "reason": "supplier late"},
    )

    alignment = alice.get(
        f"/v1/projects/{pid}/alignment", params={"min_position": slipped.json()["position"]}
    ).json()

    late = {m["name"]: m for m in alignment["milestones_late_by_forecast"]}
    assert sorted(late) == ["Build", "Ship"]
    assert late["Ship"]["late_by_days"] == 3
    assert [(c["id"], c["lag_days"]) for c in late["Ship"]["chain"]] == [
        (ship, None),
        (build, 10),
        (design, 3),
    ]
    assert late["Ship"]["chain"][-1]["forecast_due"] == day(30)


def test_the_project_as_of_an_instant_forecasts_with_the_dependencies_then(
    users: Users,
) -> None:
    alice = users("alice")
    pid, (design, _, _), _ = chain_project(alice)
    before = alice.get(f"/v1/projects/{pid}").json()["updated_at"]
    alice.post(
        f"/v1/projects/{pid}/milestones/{design}/reschedule",
        {"due": day(30), "reason": "supplier late"},
    )

    then = alice.get(f"/v1/projects/{pid}", params={"as_of": before}).json()
    now = alice.get(f"/v1/projects/{pid}").json()

    def forecast(project: dict[str, Any]) -> dict[str, str]:
        return {m["name"]: m["forecast_due"] for m in project["milestones"]}

    assert forecast(then) == {"Design": day(20), "Build": day(25), "Ship": day(40)}
    assert forecast(now) == {"Design": day(30), "Build": day(33), "Ship": day(43)}
    assert {m["name"]: m["health"] for m in now["milestones"]}["Ship"] == "at_risk"


def test_a_cancelled_predecessor_no_longer_pushes_the_forecast(users: Users) -> None:
    alice = users("alice")
    pid, (design, _, _), _ = chain_project(alice)
    alice.post(
        f"/v1/projects/{pid}/milestones/{design}/reschedule",
        {"due": day(30), "reason": "supplier late"},
    )
    cancelled = alice.post(
        f"/v1/projects/{pid}/milestones/{design}/cancel", {"reason": "bought instead"}
    )

    schedule = alice.get(
        f"/v1/projects/{pid}/schedule", params={"min_position": cancelled.json()["position"]}
    ).json()

    shown = milestones_of(schedule)
    assert shown["Design"]["forecast_due"] is None
    assert (shown["Build"]["forecast_due"], shown["Ship"]["forecast_due"]) == (day(25), day(40))
    assert date.fromisoformat(shown["Ship"]["forecast_due"]) == TODAY + timedelta(days=40)
