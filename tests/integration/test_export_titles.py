"""Titles beside ids in the audit and history CSV exports (issue 19): each row names the
deliverable, milestone and phase its event is about, as they were named just after that event."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.integration.conftest import User, Users

ORIGINAL = (
    "position,occurred_at,project_id,version,entity_kind,entity_id,type,actor,summary,"
    "correlation_id,data"
)
# After `data` come a signature's three columns (R27), then the titles: appended, in that order.
SIGNATURE = "signer_name,meaning,signed_digest"
TITLES = "deliverable_id,deliverable_title,milestone_id,milestone_name,phase_id,phase_name"


def plan(user: User) -> tuple[str, dict[str, str], int]:
    """A phase, a deliverable retitled after it was linked to a milestone."""

    def post(path: str, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
        response = user.request(method, f"/v1/projects/{pid}{path}", json=body)
        assert response.status_code in (200, 201), response.text
        answer: dict[str, Any] = response.json()
        return answer

    pid = user.post("/v1/projects", {"name": "Titles"}).json()["project_id"]
    phase = post("/phases", {"name": "Build"})["phase_id"]
    did = post("/deliverables", {"title": "Draft manual", "phase_id": phase})["deliverable_id"]
    mid = post(
        "/milestones",
        {"name": "Manual ready", "phase_id": phase, "due": "2030-01-31", "deliverable_ids": []},
    )["milestone_id"]
    post(f"/milestones/{mid}/deliverables/{did}", {}, "PUT")
    last = post(f"/deliverables/{did}", {"title": "User manual"}, "PATCH")["position"]
    return pid, {"phase": phase, "deliverable": did, "milestone": mid}, last


def rows_of(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def by_type(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["type"]: row for row in rows}


def test_the_audit_csv_names_each_id_as_it_was_then(users: Users) -> None:
    alice = users("alice")
    pid, ids, last = plan(alice)

    response = alice.get("/v1/audit/export", params={"project_id": pid, "min_position": last})

    text = response.text
    assert text.splitlines()[0] == f"{ORIGINAL},{SIGNATURE},{TITLES}"  # appended, none moved
    rows = by_type(rows_of(response))
    assert (rows["PhaseAdded"]["phase_id"], rows["PhaseAdded"]["phase_name"]) == (
        ids["phase"],
        "Build",
    )
    defined = rows["DeliverableDefined"]
    assert (defined["deliverable_id"], defined["deliverable_title"]) == (
        ids["deliverable"],
        "Draft manual",
    )
    assert defined["phase_name"] == "Build"
    linked = rows["DeliverableLinked"]
    assert (linked["deliverable_title"], linked["milestone_name"]) == (
        "Draft manual",
        "Manual ready",
    )
    assert linked["milestone_id"] == ids["milestone"]
    assert rows["DeliverableRetitled"]["deliverable_title"] == "User manual"
    assert rows["ProjectCreated"]["deliverable_id"] == ""
    assert rows["ProjectCreated"]["deliverable_title"] == ""


def test_the_history_csv_names_each_id_as_it_was_then_from_any_starting_version(
    users: Users,
) -> None:
    alice = users("alice")
    pid, ids, _ = plan(alice)

    whole = rows_of(alice.get(f"/v1/projects/{pid}/history/export"))
    tail = rows_of(alice.get(f"/v1/projects/{pid}/history/export", params={"after_version": 4}))

    assert list(whole[0]) == [
        "version",
        "position",
        "type",
        "actor",
        "occurred_at",
        "correlation_id",
        "data",
        *SIGNATURE.split(","),
        *TITLES.split(","),
    ]
    rows = by_type(whole)
    assert rows["DeliverableDefined"]["deliverable_title"] == "Draft manual"
    assert rows["DeliverableLinked"]["deliverable_title"] == "Draft manual"
    assert rows["DeliverableLinked"]["milestone_name"] == "Manual ready"
    assert rows["MilestoneDefined"]["phase_name"] == "Build"
    assert rows["DeliverableRetitled"]["deliverable_title"] == "User manual"
    # Exported from version 5 on, the names given before still show.
    assert [r["type"] for r in tail] == ["DeliverableLinked", "DeliverableRetitled"]
    assert tail[0]["deliverable_title"] == "Draft manual"
    assert tail[0]["milestone_name"] == "Manual ready"
    assert tail[0]["deliverable_id"] == ids["deliverable"]
