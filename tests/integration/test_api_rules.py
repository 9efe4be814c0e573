"""Commands over HTTP: problem JSON, the right status, and nothing changed on refusal."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.integration.conftest import User, Users


def new_project(user: User) -> tuple[str, str]:
    pid = user.post("/v1/projects", {"name": "Rules"}).json()["project_id"]
    phase = user.post(f"/v1/projects/{pid}/phases", {"name": "Build"}).json()["phase_id"]
    return pid, phase


def version_of(user: User, pid: str) -> int:
    version: int = user.get(f"/v1/projects/{pid}").json()["version"]
    return version


@pytest.mark.parametrize("field", ["id", "actor", "occurred_at", "version", "status", "colour"])
def test_unknown_or_server_owned_field_is_422_and_changes_nothing(users: Users, field: str) -> None:
    alice = users("alice")
    pid, phase = new_project(alice)
    before = version_of(alice, pid)

    response = alice.post(
        f"/v1/projects/{pid}/deliverables", {"title": "X", "phase_id": phase, field: "x"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 422
    assert version_of(alice, pid) == before


@pytest.mark.parametrize(
    "body",
    [
        {"title": "", "phase_id": "P"},
        {"title": "   ", "phase_id": "P"},
        {"title": "x" * 201, "phase_id": "P"},
        {"title": "ok", "phase_id": "P", "description": "x" * 10_001},
        {"title": "ok", "phase_id": "not-a-uuid"},
        {"phase_id": "P"},
    ],
)
def test_out_of_bounds_or_missing_values_are_422(users: Users, body: dict[str, Any]) -> None:
    alice = users("alice")
    pid, phase = new_project(alice)
    if body.get("phase_id") == "P":
        body = {**body, "phase_id": phase}

    response = alice.post(f"/v1/projects/{pid}/deliverables", body)

    assert response.status_code == 422
    assert response.json()["errors"]


def test_reject_without_reason_is_422_and_refused_by_a_rule_is_409(users: Users) -> None:
    alice = users("alice")
    pid, phase = new_project(alice)
    did = alice.post(f"/v1/projects/{pid}/deliverables", {"title": "D", "phase_id": phase}).json()[
        "deliverable_id"
    ]

    assert alice.post(f"/v1/projects/{pid}/deliverables/{did}/reject", {}).status_code == 422
    refused = alice.post(f"/v1/projects/{pid}/deliverables/{did}/reject", {"reason": "bad"})
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["rule"] == "R5"


def test_submission_gate_lists_every_unmet_criterion(users: Users) -> None:
    alice = users("alice")
    pid, phase = new_project(alice)
    did = alice.post(f"/v1/projects/{pid}/deliverables", {"title": "D", "phase_id": phase}).json()[
        "deliverable_id"
    ]
    for text in ("one", "two"):
        alice.post(f"/v1/projects/{pid}/deliverables/{did}/criteria", {"text": text})

    refused = alice.post(f"/v1/projects/{pid}/deliverables/{did}/submit", {})

    assert refused.status_code == 409
    assert [e["rule"] for e in refused.json()["errors"]] == ["R4", "R4"]


def test_linking_what_is_linked_answers_200_with_the_unchanged_version(users: Users) -> None:
    alice = users("alice")
    pid, phase = new_project(alice)
    did = alice.post(f"/v1/projects/{pid}/deliverables", {"title": "D", "phase_id": phase}).json()[
        "deliverable_id"
    ]
    mid = alice.post(
        f"/v1/projects/{pid}/milestones",
        {"name": "M", "phase_id": phase, "due": "2030-01-01", "deliverable_ids": []},
    ).json()["milestone_id"]

    first = alice.put(f"/v1/projects/{pid}/milestones/{mid}/deliverables/{did}")
    again = alice.put(f"/v1/projects/{pid}/milestones/{mid}/deliverables/{did}")

    assert first.status_code == again.status_code == 200
    assert first.json()["changed"] is True
    assert again.json()["changed"] is False
    assert again.json()["version"] == first.json()["version"]
    assert again.json()["position"] is None


def test_if_match_with_a_stale_version_is_412_and_changes_nothing(users: Users) -> None:
    alice = users("alice")
    pid, _ = new_project(alice)
    etag = alice.get(f"/v1/projects/{pid}").headers["ETag"]
    assert (
        alice.post(
            f"/v1/projects/{pid}/phases", {"name": "Two"}, headers={"If-Match": etag}
        ).status_code
        == 201
    )

    stale = alice.post(f"/v1/projects/{pid}/phases", {"name": "Three"}, headers={"If-Match": etag})

    assert stale.status_code == 412
    assert [p["name"] for p in alice.get(f"/v1/projects/{pid}").json()["phases"]] == [
        "Build",
        "Two",
    ]


def test_concurrent_commands_without_if_match_all_succeed(users: Users) -> None:
    alice = users("alice")
    pid, _ = new_project(alice)
    before = version_of(alice, pid)
    statuses: list[int] = []

    def add(n: int) -> None:
        statuses.append(alice.post(f"/v1/projects/{pid}/phases", {"name": f"P{n}"}).status_code)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert statuses == [201] * 10
    assert version_of(alice, pid) == before + 10


def test_patch_records_only_the_fields_that_change(users: Users) -> None:
    alice = users("alice")
    pid, phase = new_project(alice)
    did = alice.post(
        f"/v1/projects/{pid}/deliverables", {"title": "D", "phase_id": phase, "owner": alice.name}
    ).json()["deliverable_id"]

    same = alice.patch(f"/v1/projects/{pid}/deliverables/{did}", {"title": "D"})
    changed = alice.patch(f"/v1/projects/{pid}/deliverables/{did}", {"title": "E", "owner": None})

    assert same.json()["changed"] is False
    assert changed.json()["version"] == same.json()["version"] + 2
    [shown] = alice.get(f"/v1/projects/{pid}").json()["deliverables"]
    assert (shown["title"], shown["owner"]) == ("E", None)
