"""Named groups in a quorum (R26) through the API: `PUT …/groups/{name}`, a quorum naming
groups, the round that completes only when each group is represented, and the refusals."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import User, Users
from tests.integration.scripted import ok


def _project(alice: User, *reviewers: User) -> tuple[str, str]:
    pid = ok(alice.post("/v1/projects", {"name": "Groups"}))["project_id"]
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
    evidence = f"{base}/deliverables/{did}/criteria/{cid}/evidence"
    ok(alice.post(evidence, {"evidence": "https://example.org/spec"}))
    return pid, did


def _deliverable(user: User, pid: str, did: str) -> dict[str, Any]:
    [found] = [d for d in ok(user.get(f"/v1/projects/{pid}"))["deliverables"] if d["id"] == did]
    return dict(found)


def test_a_round_needing_a_qa_member_stays_in_review_until_one_approves(users: Users) -> None:
    alice, carol, dave, erin = users("alice"), users("carol"), users("dave"), users("erin")
    pid, did = _project(alice, carol, dave, erin)
    base = f"/v1/projects/{pid}"

    ok(alice.put(f"{base}/groups/QA", json={"members": [erin.name]}))
    ok(
        alice.put(
            f"{base}/deliverables/{did}/quorum",
            json={"required_approvals": 2, "required_groups": ["QA"]},
        )
    )
    ok(alice.post(f"{base}/deliverables/{did}/submit", {}))
    ok(carol.post(f"{base}/deliverables/{did}/approve", {}))
    ok(dave.post(f"{base}/deliverables/{did}/approve", {}))

    waiting = _deliverable(alice, pid, did)
    assert (waiting["state"], waiting["approvals"]) == ("in_review", [carol.name, dave.name])
    assert waiting["required_groups"] == ["QA"]
    ok(erin.post(f"{base}/deliverables/{did}/approve", {}))
    done = _deliverable(alice, pid, did)
    assert (done["state"], done["approvals"]) == ("approved", [carol.name, dave.name, erin.name])
    assert ok(alice.get(base))["groups"] == [{"name": "QA", "members": [erin.name]}]
    history = ok(alice.get(f"{base}/history"))["events"]
    [group_set] = [e for e in history if e["type"] == "GroupMembersSet"]
    assert group_set["data"] == {"name": "QA", "members": [erin.name], "previous_members": None}
    [approved] = [e for e in history if e["type"] == "DeliverableApproved"]
    assert approved["data"]["required_groups"] == ["QA"]


def test_refusals_name_r26_and_change_nothing(users: Users) -> None:
    alice, carol = users("alice"), users("carol")
    pid, did = _project(alice, carol)
    base = f"/v1/projects/{pid}"
    version = ok(alice.get(base))["version"]

    stranger = alice.put(f"{base}/groups/QA", json={"members": ["nobody-at-all"]})
    unknown = alice.put(
        f"{base}/deliverables/{did}/quorum",
        json={"required_approvals": 1, "required_groups": ["Legal"]},
    )
    empty = alice.put(f"{base}/groups/QA", json={"members": []})
    by_reviewer = carol.put(f"{base}/groups/QA", json={"members": [carol.name]})

    for refused in (stranger, unknown):
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert [e["rule"] for e in refused.json()["errors"]] == ["R26"]
    assert empty.status_code == 422
    assert empty.headers["content-type"] == "application/problem+json"
    assert by_reviewer.status_code == 403
    assert ok(alice.get(base))["version"] == version
