"""R19 over HTTP: named baselines saved, listed with who, when and why, and the slip against
each; a duplicate name is a 409 that changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

from tests.integration.conftest import User, Users

DUE = date(2031, 5, 1)


def project_with_milestone(user: User) -> tuple[str, str]:
    pid = user.post("/v1/projects", {"name": "Baselines"}).json()["project_id"]
    base = f"/v1/projects/{pid}"
    phase = user.post(f"{base}/phases", {"name": "Build"}).json()["phase_id"]
    mid = user.post(
        f"{base}/milestones",
        {"name": "Handover", "phase_id": phase, "due": DUE.isoformat(), "deliverable_ids": []},
    ).json()["milestone_id"]
    return pid, mid


def test_baselines_are_listed_with_who_when_why_and_the_slip_against_each(users: Users) -> None:
    alice = users("alice")
    pid, mid = project_with_milestone(alice)
    base = f"/v1/projects/{pid}"
    assert (
        alice.post(f"{base}/baselines", {"name": "Contract", "reason": "signed"}).status_code == 200
    )
    alice.post(
        f"{base}/milestones/{mid}/reschedule",
        {"due": (DUE + timedelta(days=5)).isoformat(), "reason": "supplier"},
    )
    alice.post(f"{base}/baselines", {"reason": "no name given"})

    listed = alice.get(f"{base}/baselines")

    assert listed.status_code == 200
    contract, unnamed = listed.json()["baselines"]
    assert (contract["name"], contract["reason"], contract["saved_by"]) == (
        "Contract",
        "signed",
        alice.name,
    )
    assert contract["milestones"] == [
        {
            "id": mid,
            "name": "Handover",
            "baseline_due": DUE.isoformat(),
            "due": (DUE + timedelta(days=5)).isoformat(),
            "slip_days": 5,
        }
    ]
    assert unnamed["name"] is None
    assert unnamed["milestones"][0]["slip_days"] == 0
    assert contract["saved_at"] < unnamed["saved_at"]


def test_a_duplicate_baseline_name_is_409_and_changes_nothing(users: Users) -> None:
    alice = users("alice")
    pid, _ = project_with_milestone(alice)
    base = f"/v1/projects/{pid}"
    alice.post(f"{base}/baselines", {"name": "Contract", "reason": "signed"})
    version = alice.get(base).json()["version"]

    refused = alice.post(f"{base}/baselines", {"name": "CONTRACT", "reason": "again"})

    assert refused.status_code == 409
    assert refused.json()["errors"][0]["rule"] == "R19"
    assert alice.get(base).json()["version"] == version
    assert len(alice.get(f"{base}/baselines").json()["baselines"]) == 1


def test_a_stranger_cannot_list_the_baselines(users: Users) -> None:
    alice, mallory = users("alice"), users("mallory")
    pid, _ = project_with_milestone(alice)

    assert mallory.get(f"/v1/projects/{pid}/baselines").status_code == 404
