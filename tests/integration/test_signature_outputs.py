"""R27 through the API: a signature made with a printed name and a meaning is shown, with its
principal and time, in every human-readable output: the history and its exports, the audit
trail (summary and CSV/NDJSON columns), the retrospective and the calendar."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from typing import Any

import pytest
from icalendar import Calendar

from api.bootstrap import Container
from tests.integration.conftest import User, Users
from tests.integration.scripted import ok

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Signed:
    alice: User
    carol: User
    pid: str
    did: str
    mid: str


@pytest.fixture
def signed(users: Users, container: Container) -> Signed:
    """Carol ("Carol Danvers") approves with her password as `review`, signatures required;
    Alice ("Alice Liddell") achieves the milestone, meaning by default `responsibility`."""
    alice, carol = users("alice"), users("carol")
    container.signatures.set_display_name(alice.name, "Alice Liddell")
    container.signatures.set_display_name(carol.name, "Carol Danvers")
    container.signatures.set_password(carol.name, PASSWORD)
    container.signatures.set_password(alice.name, PASSWORD)
    pid = ok(alice.post("/v1/projects", {"name": "Signed outputs"}))["project_id"]
    base = f"/v1/projects/{pid}"
    ok(alice.post(f"{base}/members", {"principal": carol.name, "role": "reviewer"}))
    phase = ok(alice.post(f"{base}/phases", {"name": "Design"}))["phase_id"]
    did = ok(alice.post(f"{base}/deliverables", {"title": "Spec", "phase_id": phase}))[
        "deliverable_id"
    ]
    cid = ok(alice.post(f"{base}/deliverables/{did}/criteria", {"text": "reviewed"}))[
        "criterion_id"
    ]
    ok(alice.post(f"{base}/deliverables/{did}/criteria/{cid}/evidence", {"evidence": "x"}))
    mid = ok(
        alice.post(
            f"{base}/milestones",
            {
                "name": "Spec frozen",
                "phase_id": phase,
                "due": "2031-01-15",
                "deliverable_ids": [did],
            },
        )
    )["milestone_id"]
    ok(alice.post(f"{base}/deliverables/{did}/submit", {}))
    before = container.settings
    container.settings = replace(before, signatures_required=True)
    try:
        ok(
            carol.post(
                f"{base}/deliverables/{did}/approve", {"meaning": "review", "password": PASSWORD}
            )
        )
        ok(alice.post(f"{base}/milestones/{mid}/achieve", {"password": PASSWORD}))
    finally:
        container.settings = before
    return Signed(alice, carol, pid, did, mid)


def _event(s: Signed, type_name: str) -> dict[str, Any]:
    events = ok(s.alice.get(f"/v1/projects/{s.pid}/history"))["events"]
    [found] = [e for e in events if e["type"] == type_name]
    return dict(found)


def test_the_events_record_printed_name_meaning_and_digest(signed: Signed) -> None:
    approval = _event(signed, "DeliverableApproved")
    achievement = _event(signed, "MilestoneAchieved")

    assert approval["actor"] == signed.carol.name
    assert (approval["data"]["signer_name"], approval["data"]["meaning"]) == (
        "Carol Danvers",
        "review",
    )
    assert (achievement["data"]["signer_name"], achievement["data"]["meaning"]) == (
        "Alice Liddell",
        "responsibility",
    )
    assert all(len(e["data"]["signed_digest"]) == 64 for e in (approval, achievement))


def test_the_audit_summary_and_its_exports_show_the_manifestation(signed: Signed) -> None:
    approval = _event(signed, "DeliverableApproved")
    params = {"project_id": signed.pid, "type": "DeliverableApproved"}
    page = ok(signed.alice.get("/v1/audit", params=params))["items"]
    as_csv = signed.alice.get("/v1/audit", params=params, headers={"Accept": "text/csv"})
    as_ndjson = signed.alice.get(
        "/v1/audit", params=params, headers={"Accept": "application/x-ndjson"}
    )

    [row] = page
    assert row["summary"] == (
        f"{signed.carol.name} approved 'Spec' — signed by Carol Danvers ({signed.carol.name})"
        " as review"
    )
    [line] = list(csv.DictReader(io.StringIO(as_csv.text)))
    header = as_csv.text.splitlines()[0].split(",")
    signature = header.index("signer_name")
    assert header[signature - 1 : signature + 3] == [
        "data",
        "signer_name",
        "meaning",
        "signed_digest",
    ]
    assert (line["actor"], line["signer_name"], line["meaning"]) == (
        signed.carol.name,
        "Carol Danvers",
        "review",
    )
    assert line["occurred_at"] == approval["occurred_at"]
    assert line["signed_digest"] == approval["data"]["signed_digest"]
    [record] = [json.loads(x) for x in as_ndjson.text.splitlines()]
    assert (record["signer_name"], record["meaning"]) == ("Carol Danvers", "review")


def test_the_history_exports_carry_the_manifestation_columns(signed: Signed) -> None:
    path = f"/v1/projects/{signed.pid}/history"
    as_csv = signed.alice.get(path, headers={"Accept": "text/csv"})
    as_ndjson = signed.alice.get(path, headers={"Accept": "application/x-ndjson"})

    rows = {r["type"]: r for r in csv.DictReader(io.StringIO(as_csv.text))}
    assert (rows["MilestoneAchieved"]["signer_name"], rows["MilestoneAchieved"]["meaning"]) == (
        "Alice Liddell",
        "responsibility",
    )
    assert rows["PhaseAdded"]["signer_name"] == ""  # not a signature
    records = {r["type"]: r for r in map(json.loads, as_ndjson.text.splitlines())}
    assert records["DeliverableApproved"]["signer_name"] == "Carol Danvers"
    assert records["MilestoneAchieved"]["occurred_at"] == rows["MilestoneAchieved"]["occurred_at"]


def test_the_retrospective_shows_each_signature(signed: Signed) -> None:
    retro = ok(signed.alice.get(f"/v1/projects/{signed.pid}/retrospective"))

    [milestone] = retro["milestones"]
    achieved = milestone["achievement"]
    assert (achieved["by"], achieved["printed_name"], achieved["meaning"]) == (
        signed.alice.name,
        "Alice Liddell",
        "responsibility",
    )
    assert achieved["at"] == _event(signed, "MilestoneAchieved")["occurred_at"]
    [round_1] = milestone["deliverables"][0]["rounds"]
    [approval] = round_1["signatures"]
    assert (approval["by"], approval["printed_name"], approval["meaning"]) == (
        signed.carol.name,
        "Carol Danvers",
        "review",
    )


def test_the_calendar_description_says_who_signed_with_what_meaning_and_when(
    signed: Signed,
) -> None:
    response = signed.alice.get(f"/v1/projects/{signed.pid}/calendar.ics")

    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    description = str(event["description"])
    at = _event(signed, "MilestoneAchieved")["occurred_at"].replace("Z", "+00:00")
    assert f"Signed by Alice Liddell ({signed.alice.name}) — responsibility — {at}" in description


def test_an_unknown_meaning_is_refused_with_422_and_stores_nothing(users: Users) -> None:
    alice = users("alice")
    pid = ok(alice.post("/v1/projects", {"name": "Meaning"}))["project_id"]
    phase = ok(alice.post(f"/v1/projects/{pid}/phases", {"name": "D"}))["phase_id"]
    mid = ok(
        alice.post(
            f"/v1/projects/{pid}/milestones",
            {"name": "M", "phase_id": phase, "due": "2031-01-15", "deliverable_ids": []},
        )
    )["milestone_id"]
    version = ok(alice.get(f"/v1/projects/{pid}"))["version"]

    refused = alice.post(f"/v1/projects/{pid}/milestones/{mid}/achieve", {"meaning": "whim"})

    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert ok(alice.get(f"/v1/projects/{pid}"))["version"] == version
