"""The retrospective and the calendar of a scripted project, over HTTP."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar

from tests.integration.conftest import Users
from tests.integration.scripted import FAR, ok, script


def test_the_retrospective_of_a_scripted_project_has_its_slips_reasons_and_rounds(
    users: Users,
) -> None:
    alice, carol = users("alice"), users("carol")
    project = script(alice, carol)

    retro = ok(alice.get(f"/v1/projects/{project.pid}/retrospective"))

    milestones = {m["id"]: m for m in retro["milestones"]}
    handover = milestones[project.handover]
    assert handover["original_baseline_due"] == FAR.isoformat()
    assert handover["baseline_due"] == (FAR + timedelta(days=10)).isoformat()
    assert handover["final_due"] == (FAR + timedelta(days=13)).isoformat()
    assert (handover["slip_days"], handover["slip_days_from_original"]) == (3, 13)
    assert [(r["reason"], r["by"]) for r in handover["reschedules"]] == [
        ("report rework", alice.name),
        ("reviewer on leave", alice.name),
    ]
    assert [r["reason"] for r in handover["rebaselines"]] == ["plan agreed after rework"]
    assert handover["outcome"] == "on_time"
    assert handover["achieved_by"] == alice.name
    [report] = handover["deliverables"]
    assert report["review_rounds"] == 2
    assert [(r["round"], r["reason"], r["by"]) for r in report["rejections"]] == [
        (1, "no methodology section", carol.name)
    ]
    assert report["approved_by"] == carol.name
    assert report["days_from_last_evidence_to_approval"] is not None

    launch = milestones[project.launch]
    assert launch["outcome"] == "open"
    assert launch["achieved_at"] is None
    assert [(r["reason"], r["by"]) for r in launch["reopenings"]] == [
        ("published the wrong PDF", alice.name)
    ]
    assert milestones[project.dropped]["outcome"] == "cancelled"

    assert retro["totals"] == {
        "milestones": 3,
        "on_time": 1,
        "late": 0,
        "open": 1,
        "cancelled": 1,
        "mean_slip_days": 1.5,
        "mean_slip_days_from_original": 6.5,
        "reschedules": 2,
        # No dependencies: every day of slip (2 × 6.5 from the original) is a reschedule's.
        "slip_days_by_cause": {"reschedule": 13, "predecessor": 0},
        "deliverables_reviewed": 2,
        "review_rounds": 3,
        "rounds_per_deliverable": 1.5,
        "rejections": 1,
    }


def test_the_retrospective_is_not_shown_to_a_non_member(users: Users) -> None:
    project = script(users("alice"), users("carol"))

    response = users("mallory").get(f"/v1/projects/{project.pid}/retrospective")

    assert response.status_code == 404


def test_the_calendar_has_one_all_day_event_per_milestone_marked_by_status(users: Users) -> None:
    alice = users("alice")
    project = script(alice, users("carol"))

    response = alice.get(f"/v1/projects/{project.pid}/calendar.ics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = {str(e["uid"]).split("@")[0]: e for e in calendar.walk("VEVENT")}
    assert set(events) == {project.handover, project.launch, project.dropped}
    handover = events[project.handover]
    assert handover.decoded("dtstart") == FAR + timedelta(days=13)
    assert handover.decoded("dtend") == FAR + timedelta(days=14)
    assert "achieved" in str(handover["summary"])
    assert f"Signed by {alice.name} ({alice.name}) — responsibility — " in str(
        handover["description"]
    )
    assert str(events[project.dropped]["status"]) == "CANCELLED"
    assert str(events[project.launch]["summary"]) == "Manual published"


def test_a_milestone_keeps_its_calendar_uid_when_rescheduled(users: Users) -> None:
    alice = users("alice")
    project = script(alice, users("carol"))

    def uids() -> dict[str, object]:
        body = alice.get(f"/v1/projects/{project.pid}/calendar.ics").content
        return {
            str(e["uid"]): e.decoded("dtstart") for e in Calendar.from_ical(body).walk("VEVENT")
        }

    before = uids()
    ok(
        alice.post(
            f"/v1/projects/{project.pid}/milestones/{project.launch}/reschedule",
            {"due": (FAR + timedelta(days=20)).isoformat(), "reason": "printer delay"},
        )
    )
    after = uids()

    assert set(before) == set(after)
    assert after[f"{project.launch}@milestone-ledger"] == FAR + timedelta(days=20)
