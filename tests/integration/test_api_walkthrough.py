"""The README walk-through, end to end over HTTP: from an empty project to an achieved milestone."""

from __future__ import annotations

from datetime import date, timedelta

from tests.integration.conftest import Users


def test_walkthrough_from_project_to_milestone_achieved_on_time(users: Users) -> None:
    alice, bob = users("alice"), users("bob")

    created = alice.post("/v1/projects", {"name": "Analysis study"})
    assert created.status_code == 201
    pid = created.json()["project_id"]
    assert created.headers["Location"] == f"/v1/projects/{pid}"

    assert (
        alice.post(
            f"/v1/projects/{pid}/members", {"principal": bob.name, "role": "reviewer"}
        ).status_code
        == 200
    )
    phase = alice.post(f"/v1/projects/{pid}/phases", {"name": "Analysis"}).json()["phase_id"]
    deliverable = alice.post(
        f"/v1/projects/{pid}/deliverables",
        {"title": "Analysis report draft", "phase_id": phase, "kind": "report"},
    ).json()["deliverable_id"]
    criteria = [
        alice.post(f"/v1/projects/{pid}/deliverables/{deliverable}/criteria", {"text": t}).json()[
            "criterion_id"
        ]
        for t in ("includes introduction", "includes methodology")
    ]
    due = (date.today() + timedelta(days=30)).isoformat()
    milestone = alice.post(
        f"/v1/projects/{pid}/milestones",
        {
            "name": "Draft report submitted",
            "phase_id": phase,
            "due": due,
            "deliverable_ids": [deliverable],
        },
    ).json()["milestone_id"]

    refused = alice.post(f"/v1/projects/{pid}/milestones/{milestone}/achieve", {})
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert [e["rule"] for e in refused.json()["errors"]] == ["R3"]
    assert "draft, not approved" in refused.json()["errors"][0]["message"]

    for criterion in criteria:
        recorded = alice.post(
            f"/v1/projects/{pid}/deliverables/{deliverable}/criteria/{criterion}/evidence",
            {"evidence": "https://docs.example.com/report-v1.pdf"},
        )
        assert recorded.status_code == 200
    assert (
        alice.post(f"/v1/projects/{pid}/deliverables/{deliverable}/submit", {}).status_code == 200
    )
    assert (
        alice.post(f"/v1/projects/{pid}/deliverables/{deliverable}/approve", {}).status_code == 409
    )
    assert bob.post(f"/v1/projects/{pid}/deliverables/{deliverable}/approve", {}).status_code == 200

    achieved = alice.post(f"/v1/projects/{pid}/milestones/{milestone}/achieve", {"note": "on time"})
    assert achieved.status_code == 200
    position = achieved.json()["position"]

    schedule = alice.get(f"/v1/projects/{pid}/schedule", params={"min_position": position})
    assert schedule.status_code == 200
    [shown] = schedule.json()["phases"][0]["milestones"]
    assert shown["achieved"] is True
    assert shown["status"] == "achieved"
    assert shown["health"] == "achieved_on_time"
    assert shown["achieved_by"] == alice.name
    assert shown["achieved_at"].endswith("Z")
    assert shown["deliverables"] == [
        {
            "id": deliverable,
            "title": "Analysis report draft",
            "state": "approved",
            "criteria_met": 2,
            "criteria_total": 2,
            "required_approvals": 1,
            "approvals": [bob.name],
        }
    ]
    assert schedule.headers["ETag"].startswith('W/"')


def test_current_state_reflects_every_acknowledged_command_with_its_version_as_etag(
    users: Users,
) -> None:
    alice = users("alice")
    pid = alice.post("/v1/projects", {"name": "State"}).json()["project_id"]
    added = alice.post(f"/v1/projects/{pid}/phases", {"name": "Design"})

    state = alice.get(f"/v1/projects/{pid}")

    assert state.status_code == 200
    assert state.headers["ETag"] == f'"{added.json()["version"]}"'
    assert [p["name"] for p in state.json()["phases"]] == ["Design"]
    assert state.json()["members"] == [{"principal": alice.name, "role": "manager"}]
