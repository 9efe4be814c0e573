"""Approval quorums (R21) and the veto (R22) through the API: the deliverable's state, and each
round's signers in the project, its history, its retrospective, the schedule and the audit."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import User, Users
from tests.integration.scripted import ok


def _deliverable(user: User, pid: str, did: str) -> dict[str, Any]:
    project = ok(user.get(f"/v1/projects/{pid}"))
    found: list[dict[str, Any]] = [d for d in project["deliverables"] if d["id"] == did]
    [deliverable] = found
    return deliverable


def _in_review_needing_two(alice: User, *reviewers: User) -> tuple[str, str]:
    """A deliverable alice (a manager, so also a reviewer) submitted, needing 2 approvals."""
    pid = ok(alice.post("/v1/projects", {"name": "Quorum"}))["project_id"]
    base = f"/v1/projects/{pid}"
    for reviewer in reviewers:
        ok(alice.post(f"{base}/members", {"principal": reviewer.name, "role": "reviewer"}))
    phase = ok(alice.post(f"{base}/phases", {"name": "Design"}))["phase_id"]
    did = ok(alice.post(f"{base}/deliverables", {"title": "Spec", "phase_id": phase}))[
        "deliverable_id"
    ]
    cid = ok(alice.post(f"{base}/deliverables/{did}/criteria", {"text": "reviewed"}))[
        "criterion_id"
    ]
    ok(
        alice.post(
            f"{base}/deliverables/{did}/criteria/{cid}/evidence",
            {"evidence": "https://example.org/spec"},
        )
    )
    ok(alice.put(f"{base}/deliverables/{did}/quorum", json={"required_approvals": 2}))
    ok(alice.post(f"{base}/deliverables/{did}/submit", {}))
    return pid, did


def test_quorum_two_with_one_approval_stays_in_review_and_the_second_approves(
    users: Users,
) -> None:
    alice, carol, dave = users("alice"), users("carol"), users("dave")
    pid, did = _in_review_needing_two(alice, carol, dave)
    base = f"/v1/projects/{pid}/deliverables/{did}"

    ok(carol.post(f"{base}/approve", {"comment": "fine"}))
    first = _deliverable(alice, pid, did)
    assert (first["state"], first["required_approvals"], first["approvals"]) == (
        "in_review",
        2,
        [carol.name],
    )

    ok(dave.post(f"{base}/approve", {}))
    second = _deliverable(alice, pid, did)
    assert (second["state"], second["approvals"]) == ("approved", [carol.name, dave.name])

    events = ok(alice.get(f"/v1/projects/{pid}/history"))["events"]
    signing = ("DeliverableApprovalSigned", "DeliverableApproved")
    signed = [e for e in events if e["type"] in signing]
    assert [(e["type"], e["actor"]) for e in signed] == [
        ("DeliverableApprovalSigned", carol.name),
        ("DeliverableApproved", dave.name),
    ]
    assert signed[1]["data"]["signers"] == [carol.name, dave.name]

    retro = ok(alice.get(f"/v1/projects/{pid}/retrospective"))
    [review] = retro["deliverables"]
    assert review["required_approvals"] == 2
    [round_1] = review["rounds"]
    signatures = round_1.pop("signatures")
    assert round_1 == {
        "round": 1,
        "signers": [carol.name, dave.name],
        "outcome": "approved",
        "vetoed_by": None,
        "veto": None,
    }
    assert [(s["by"], s["printed_name"], s["meaning"]) for s in signatures] == [
        (carol.name, carol.name, "approval"),
        (dave.name, dave.name, "approval"),
    ]


def test_a_second_approval_by_the_submitter_is_refused_and_changes_nothing(
    users: Users,
) -> None:
    alice, carol = users("alice"), users("carol")
    pid, did = _in_review_needing_two(alice, carol)
    base = f"/v1/projects/{pid}/deliverables/{did}"
    ok(carol.post(f"{base}/approve", {}))
    version = ok(alice.get(f"/v1/projects/{pid}"))["version"]

    by_submitter = alice.post(f"{base}/approve", {})
    again = carol.post(f"{base}/approve", {})

    assert by_submitter.status_code == 409
    assert by_submitter.headers["content-type"] == "application/problem+json"
    assert by_submitter.json()["errors"][0]["rule"] == "R5"
    assert again.status_code == 409
    assert again.json()["errors"][0]["rule"] == "R21"
    assert ok(alice.get(f"/v1/projects/{pid}"))["version"] == version
    assert _deliverable(alice, pid, did)["approvals"] == [carol.name]


def test_the_schedule_shows_the_quorum_and_the_rounds_signers(users: Users) -> None:
    alice, carol, dave = users("alice"), users("carol"), users("dave")
    pid, did = _in_review_needing_two(alice, carol, dave)
    base = f"/v1/projects/{pid}"
    phase = ok(alice.get(base))["phases"][0]["id"]
    ok(
        alice.post(
            f"{base}/milestones",
            {
                "name": "Design done",
                "phase_id": phase,
                "due": "2030-01-31",
                "deliverable_ids": [did],
            },
        )
    )

    def scheduled(answer: dict[str, Any]) -> dict[str, Any]:
        """The deliverable in the schedule, once the view has the command's events."""
        schedule = ok(alice.get(f"{base}/schedule", params={"min_position": answer["position"]}))
        [milestone] = schedule["phases"][0]["milestones"]
        [deliverable] = milestone["deliverables"]
        found: dict[str, Any] = deliverable
        return found

    first = scheduled(ok(carol.post(f"{base}/deliverables/{did}/approve", {})))
    assert (first["state"], first["required_approvals"], first["approvals"]) == (
        "in_review",
        2,
        [carol.name],
    )
    second = scheduled(ok(dave.post(f"{base}/deliverables/{did}/approve", {})))
    assert (second["state"], second["approvals"]) == ("approved", [carol.name, dave.name])
    vetoed = scheduled(ok(alice.post(f"{base}/deliverables/{did}/reopen", {"reason": "redo"})))
    assert (vetoed["state"], vetoed["approvals"]) == ("draft", [])


def test_a_veto_resets_the_round(users: Users) -> None:
    alice, carol, dave = users("alice"), users("carol"), users("dave")
    pid, did = _in_review_needing_two(alice, carol, dave)
    base = f"/v1/projects/{pid}/deliverables/{did}"
    ok(carol.post(f"{base}/approve", {}))

    ok(dave.post(f"{base}/reject", {"reason": "figures missing"}))

    vetoed = _deliverable(alice, pid, did)
    assert (vetoed["state"], vetoed["approvals"]) == ("draft", [])
    retro = ok(alice.get(f"/v1/projects/{pid}/retrospective"))
    [round_1] = retro["deliverables"][0]["rounds"]
    veto = round_1.pop("veto")
    del round_1["signatures"]
    assert round_1 == {
        "round": 1,
        "signers": [carol.name],
        "outcome": "rejected",
        "vetoed_by": dave.name,
    }
    assert (veto["by"], veto["printed_name"], veto["meaning"]) == (dave.name, dave.name, "review")


def test_a_quorum_out_of_bounds_is_422_and_during_a_round_409(users: Users) -> None:
    alice, carol = users("alice"), users("carol")
    pid, did = _in_review_needing_two(alice, carol)
    path = f"/v1/projects/{pid}/deliverables/{did}/quorum"
    version = ok(alice.get(f"/v1/projects/{pid}"))["version"]

    too_few = alice.put(path, json={"required_approvals": 0})
    during = alice.put(path, json={"required_approvals": 1})
    by_reviewer = carol.put(path, json={"required_approvals": 3})

    assert too_few.status_code == 422
    assert too_few.headers["content-type"] == "application/problem+json"
    assert during.status_code == 409
    assert during.json()["errors"][0]["rule"] == "R21"
    assert by_reviewer.status_code == 403
    assert ok(alice.get(f"/v1/projects/{pid}"))["version"] == version
