"""The audit trail over HTTP: who did what and when, filtered, paged newest first, exported."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from typing import Any

from api.titles import TITLE_COLUMNS
from application.access import GlobalRole
from tests.integration.conftest import User, Users
from tests.integration.scripted import Scripted, ok, script


def audit(user: User, **params: Any) -> dict[str, Any]:
    return ok(user.get("/v1/audit", params=params))


def every_page(user: User, cursor: str | None = None, **params: Any) -> list[dict[str, Any]]:
    """Follows next_cursor from `cursor` (the newest row when None) to the oldest row."""
    items: list[dict[str, Any]] = []
    while True:
        page = audit(user, **params, **({"cursor": cursor} if cursor else {}))
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def scripted(users: Users) -> tuple[User, User, Scripted]:
    manager, reviewer = users("alice"), users("carol")
    return manager, reviewer, script(manager, reviewer)


def test_filtered_by_actor_and_time_it_returns_exactly_that_actors_events(users: Users) -> None:
    _, reviewer, project = scripted(users)
    auditor = users("auditor", GlobalRole.AUDITOR)
    everything = audit(auditor, project_id=project.pid, min_position=project.last_position)
    instants = sorted(e["occurred_at"] for e in everything["items"])
    since, until = instants[3], instants[-3]

    found = audit(
        auditor, project_id=project.pid, actor=reviewer.name, since=since, until=until, limit=1000
    )["items"]

    expected = [
        e
        for e in everything["items"]
        if e["actor"] == reviewer.name and since <= e["occurred_at"] < until
    ]
    assert found == expected
    assert [e["type"] for e in found] == [
        "DeliverableApproved",
        "DeliverableApproved",
        "DeliverableRejected",
    ]


def test_each_row_says_who_did_what_to_which_entity_in_one_line(users: Users) -> None:
    manager, reviewer, project = scripted(users)

    rows = audit(
        manager,
        entity_id=project.report,
        type="DeliverableApproved",
        min_position=project.last_position,
    )["items"]

    [approved] = rows
    # R27: the manifestation (printed name: the principal's name, it has no display name).
    assert approved["summary"] == (
        f"{reviewer.name} approved 'Analysis report draft'"
        f" — signed by {reviewer.name} ({reviewer.name}) as approval"
    )
    assert approved["entity_kind"] == "deliverable"
    assert approved["entity_id"] == project.report
    assert approved["project_id"] == project.pid
    assert approved["actor"] == reviewer.name
    assert approved["occurred_at"].endswith("Z")
    pinned = approved["data"].pop("evidence_digests")
    signed_digest = approved["data"].pop("signed_digest")
    assert approved["data"] == {
        "deliverable_id": project.report,
        "comment": None,
        "meaning": "approval",
        "required_approvals": 1,
        "required_groups": [],
        "signers": [reviewer.name],
        "signer_name": reviewer.name,
    }
    assert re.fullmatch("[0-9a-f]{64}", signed_digest)
    # What was approved: the report's one criterion's evidence, a URI without a digest.
    assert [(p["artifact"], p["sha256"]) for p in pinned] == [(None, None)]


def test_an_entity_filter_includes_the_events_that_name_it(users: Users) -> None:
    manager, _, project = scripted(users)

    rows = audit(manager, entity_id=project.report, min_position=project.last_position)["items"]

    kinds = {r["type"] for r in rows}
    assert {"DeliverableDefined", "CriterionAdded", "EvidenceRecorded"} <= kinds
    assert "MilestoneDefined" in kinds  # the handover milestone links the report


def test_a_non_member_sees_none_of_a_projects_rows(users: Users) -> None:
    _, _, project = scripted(users)
    outsider = users("mallory")
    own = ok(outsider.post("/v1/projects", {"name": "Mallory's own"}))

    mine = every_page(outsider, min_position=own["position"])
    filtered = audit(outsider, project_id=project.pid)["items"]
    exported = outsider.get("/v1/audit", headers={"Accept": "application/x-ndjson"}).text

    assert mine
    assert all(row["project_id"] != project.pid for row in mine)
    assert filtered == []
    assert project.pid not in exported


def test_auditors_see_every_project_newest_first(users: Users) -> None:
    _, _, project = scripted(users)
    other = ok(users("bob").post("/v1/projects", {"name": "Other"}))
    auditor = users("auditor", GlobalRole.AUDITOR)

    rows = audit(auditor, limit=1000, min_position=other["position"])["items"]

    positions = [r["position"] for r in rows]
    assert positions == sorted(positions, reverse=True)
    assert {project.pid, other["project_id"]} <= {r["project_id"] for r in rows}


def test_paging_neither_repeats_nor_skips_while_new_events_arrive(users: Users) -> None:
    manager, _, project = scripted(users)
    first = audit(manager, project_id=project.pid, limit=5, min_position=project.last_position)
    before = {r["position"] for r in first["items"]}

    # New events commit between the pages: they are newer than every page still to come.
    late = ok(manager.post(f"/v1/projects/{project.pid}/phases", {"name": "Aftercare"}))
    rest = every_page(manager, project_id=project.pid, limit=5, cursor=first["next_cursor"])
    whole = audit(manager, project_id=project.pid, limit=1000, min_position=late["position"])

    seen = [r["position"] for r in first["items"]] + [r["position"] for r in rest]
    assert len(seen) == len(set(seen))
    assert set(seen) | {late["position"]} == {r["position"] for r in whole["items"]}
    assert before.isdisjoint(r["position"] for r in rest)


def test_limit_above_1000_and_a_forged_cursor_are_refused(users: Users) -> None:
    user = users()

    too_many = user.get("/v1/audit", params={"limit": 1001})
    forged = user.get("/v1/audit", params={"cursor": "not-a-cursor"})
    naive = user.get("/v1/audit", params={"since": "2026-01-01T00:00:00"})

    for response in (too_many, forged, naive):
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"


def test_csv_and_ndjson_exports_stream_the_same_rows_as_the_pages(users: Users) -> None:
    manager, _, project = scripted(users)
    pages = every_page(manager, project_id=project.pid, limit=7, min_position=project.last_position)

    as_csv = manager.get(
        "/v1/audit", params={"project_id": project.pid}, headers={"Accept": "text/csv"}
    )
    as_ndjson = manager.get(
        "/v1/audit", params={"project_id": project.pid}, headers={"Accept": "application/x-ndjson"}
    )

    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [int(r["position"]) for r in rows] == [p["position"] for p in pages]
    assert [r["summary"] for r in rows] == [p["summary"] for p in pages]
    assert [json.loads(r["data"]) for r in rows] == [p["data"] for p in pages]
    assert as_ndjson.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in as_ndjson.text.splitlines()]
    # R27: the exports add the manifestation of a signing event, read from its data.
    signature = ("signer_name", "meaning", "signed_digest")
    # Issue 19: they add titles beside ids (`api.titles`); the rest is the pages'.
    added = (*signature, *TITLE_COLUMNS)
    assert [{k: v for k, v in line.items() if k not in added} for line in lines] == pages
    for line, row in zip(lines, rows, strict=True):
        assert [line[k] for k in signature] == [line["data"].get(k) for k in signature]
        assert [row[k] for k in signature] == [line[k] or "" for k in signature]
    assert all(set(TITLE_COLUMNS) <= set(line) for line in lines)


def test_the_summary_keeps_the_name_an_entity_had_when_the_event_happened(users: Users) -> None:
    manager, reviewer, project = scripted(users)
    renamed = ok(
        manager.patch(
            f"/v1/projects/{project.pid}/deliverables/{project.report}",
            {"title": "Final analysis report"},
        )
    )

    rows = audit(manager, entity_id=project.report, min_position=renamed["position"])["items"]

    summaries = [r["summary"] for r in rows]
    assert summaries[0] == (
        f"{manager.name} retitled 'Analysis report draft' to 'Final analysis report'"
    )
    rejected = (
        f"{reviewer.name} rejected 'Analysis report draft': no methodology section"
        f" — signed by {reviewer.name} ({reviewer.name}) as review"
    )
    assert rejected in summaries


def test_since_and_until_are_instants_with_a_time_zone(users: Users) -> None:
    user = users()
    now = datetime.now(UTC).isoformat()

    assert user.get("/v1/audit", params={"until": now}).status_code == 200
