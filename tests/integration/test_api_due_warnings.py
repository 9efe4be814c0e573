"""A due date already past (issue 19): accepted and kept, with a `due-in-the-past` warning in the
answer, counted in the project's time zone (docs/decisions.md, "A past due date")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.integration.conftest import SettableClock, User, Users

# 11:00 UTC on 1 March 2027 is already 2 March on Kiritimati (UTC+14).
NOW = datetime(2027, 3, 1, 11, 0, tzinfo=UTC)


@pytest.fixture
def pinned(clock: SettableClock) -> Iterator[None]:
    clock.pinned = NOW
    try:
        yield
    finally:
        clock.pinned = None


def new_project(user: User, timezone: str = "UTC") -> tuple[str, str]:
    pid = user.post("/v1/projects", {"name": "Due dates", "timezone": timezone}).json()
    phase = user.post(f"/v1/projects/{pid['project_id']}/phases", {"name": "Build"}).json()
    return pid["project_id"], phase["phase_id"]


def define(user: User, pid: str, phase: str, due: str) -> dict[str, object]:
    body = {"name": "Launch", "phase_id": phase, "due": due, "deliverable_ids": []}
    response = user.post(f"/v1/projects/{pid}/milestones", body)
    assert response.status_code == 201, response.text
    answer: dict[str, object] = response.json()
    return answer


@pytest.mark.usefixtures("pinned")
def test_a_milestone_defined_due_yesterday_is_kept_with_a_warning(users: Users) -> None:
    alice = users("alice")
    pid, phase = new_project(alice)

    answer = define(alice, pid, phase, "2027-02-28")

    assert answer["warnings"] == [
        {
            "code": "due-in-the-past",
            "detail": "due 2027-02-28 is before today (2027-03-01 in UTC): the date was kept,"
            " and the milestone shows as overdue until it is achieved (R12)",
        }
    ]
    kept = alice.get(f"/v1/projects/{pid}").json()["milestones"][0]
    assert (kept["due"], kept["health"]) == ("2027-02-28", "overdue")


@pytest.mark.usefixtures("pinned")
def test_a_milestone_due_today_or_later_has_no_warning(users: Users) -> None:
    alice = users("alice")
    pid, phase = new_project(alice)

    today = define(alice, pid, phase, "2027-03-01")
    later = define(alice, pid, phase, "2027-06-30")

    assert "warnings" not in today
    assert "warnings" not in later


@pytest.mark.usefixtures("pinned")
def test_the_past_is_counted_in_the_projects_time_zone(users: Users) -> None:
    alice = users("alice")
    utc_pid, utc_phase = new_project(alice, "UTC")
    kiri_pid, kiri_phase = new_project(alice, "Pacific/Kiritimati")

    in_utc = define(alice, utc_pid, utc_phase, "2027-03-01")
    on_kiritimati = define(alice, kiri_pid, kiri_phase, "2027-03-01")

    assert "warnings" not in in_utc
    assert on_kiritimati["warnings"] == [
        {
            "code": "due-in-the-past",
            "detail": "due 2027-03-01 is before today (2027-03-02 in Pacific/Kiritimati): the"
            " date was kept, and the milestone shows as overdue until it is achieved (R12)",
        }
    ]


@pytest.mark.usefixtures("pinned")
def test_rescheduling_into_the_past_is_kept_with_a_warning(users: Users) -> None:
    alice = users("alice")
    pid, phase = new_project(alice)
    mid = define(alice, pid, phase, "2027-04-01")["milestone_id"]

    moved = alice.post(
        f"/v1/projects/{pid}/milestones/{mid}/reschedule",
        {"due": "2027-01-15", "reason": "it really was due in January"},
    )
    again = alice.post(
        f"/v1/projects/{pid}/milestones/{mid}/reschedule",
        {"due": "2027-01-15", "reason": "it really was due in January"},
    )

    assert moved.status_code == 200
    assert [w["code"] for w in moved.json()["warnings"]] == ["due-in-the-past"]
    assert alice.get(f"/v1/projects/{pid}").json()["milestones"][0]["due"] == "2027-01-15"
    # Nothing changed the second time: nothing to warn about.
    assert again.json()["changed"] is False
    assert "warnings" not in again.json()


@pytest.mark.usefixtures("pinned")
def test_a_refused_past_due_date_has_no_warning_only_the_refusal(users: Users) -> None:
    alice = users("alice")
    pid, _ = new_project(alice)

    response = alice.post(
        f"/v1/projects/{pid}/milestones",
        {
            "name": "Launch",
            "phase_id": "00000000-0000-0000-0000-000000000000",
            "due": "2020-01-01",
            "deliverable_ids": [],
        },
    )

    assert response.status_code == 422  # no such phase in the project
    assert response.headers["content-type"] == "application/problem+json"
    assert "warnings" not in response.json()
    assert alice.get(f"/v1/projects/{pid}").json()["milestones"] == []
