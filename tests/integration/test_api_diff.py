"""The diff over HTTP: from an instant, from a named baseline and from now; CSV and NDJSON by
Accept; a point it cannot read is a 422."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from typing import Any

import pytest

from tests.integration.conftest import User, Users

DUE = date(2031, 5, 1)


def planned(user: User) -> tuple[str, str, str]:
    """A project with one milestone, then a baseline named Contract: (pid, milestone, instant
    before the baseline)."""
    pid = user.post("/v1/projects", {"name": "Diff"}).json()["project_id"]
    base = f"/v1/projects/{pid}"
    phase = user.post(f"{base}/phases", {"name": "Build"}).json()["phase_id"]
    mid = user.post(
        f"{base}/milestones",
        {"name": "Handover", "phase_id": phase, "due": DUE.isoformat(), "deliverable_ids": []},
    ).json()["milestone_id"]
    instant = user.get(base).json()["updated_at"]
    user.post(f"{base}/baselines", {"name": "Contract", "reason": "signed"})
    user.post(
        f"{base}/milestones/{mid}/reschedule",
        {"due": (DUE + timedelta(days=4)).isoformat(), "reason": "supplier late"},
    )
    return pid, mid, instant


def due_change(body: dict[str, Any], mid: str) -> dict[str, Any]:
    [change] = [c for c in body["changes"] if c["id"] == mid]
    found: dict[str, Any] = change
    return found


def test_from_a_named_baseline_the_reschedule_is_listed_with_its_event(users: Users) -> None:
    alice = users("alice")
    pid, mid, _ = planned(alice)

    answer = alice.get(f"/v1/projects/{pid}/diff", params={"from": "baseline:contract"})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["from"]["given"] == "baseline:contract"
    assert body["to"]["given"] == "now"
    change = due_change(body, mid)
    assert change["change"] == "changed"
    assert change["fields"] == [
        {"field": "due", "old": DUE.isoformat(), "new": (DUE + timedelta(days=4)).isoformat()}
    ]
    [event] = change["events"]
    assert (event["type"], event["actor"], event["reason"]) == (
        "MilestoneRescheduled",
        alice.name,
        "supplier late",
    )


def test_from_an_instant_the_rebaseline_shows_too(users: Users) -> None:
    alice = users("alice")
    pid, mid, instant = planned(alice)

    body = alice.get(f"/v1/projects/{pid}/diff", params={"from": instant, "to": "now"}).json()

    change = due_change(body, mid)
    assert [e["type"] for e in change["events"]] == ["ProjectRebaselined", "MilestoneRescheduled"]
    # The re-baseline kept the due date it found as the baseline: only the due changed.
    assert [f["field"] for f in change["fields"]] == ["due"]


def test_from_now_to_now_nothing_changed(users: Users) -> None:
    alice = users("alice")
    pid, _, _ = planned(alice)

    body = alice.get(f"/v1/projects/{pid}/diff", params={"from": "now"}).json()

    assert body["changes"] == []
    assert body["from"]["version"] == body["to"]["version"]


def test_the_diff_exports_as_csv_and_ndjson(users: Users) -> None:
    alice = users("alice")
    pid, mid, _ = planned(alice)
    path, params = f"/v1/projects/{pid}/diff", {"from": "baseline:Contract"}

    as_csv = alice.get(path, params=params, headers={"Accept": "text/csv"})
    as_ndjson = alice.get(path, params=params, headers={"Accept": "application/x-ndjson"})

    assert as_csv.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert (row["id"], row["field"], row["new"]) == (
        mid,
        "due",
        (DUE + timedelta(days=4)).isoformat(),
    )
    assert "MilestoneRescheduled by" in row["events"]
    [line] = [json.loads(x) for x in as_ndjson.text.splitlines() if x]
    assert (line["id"], line["field"]) == (mid, "due")


@pytest.mark.parametrize(
    "params",
    [
        {"from": "baseline:nothing"},
        {"from": "yesterday"},
        {"from": "2026-01-01T00:00:00"},  # no offset
        {"from": "now", "to": "2000-01-01T00:00:00+00:00"},  # from after to
        {},
    ],
)
def test_a_point_the_diff_cannot_read_is_422(users: Users, params: dict[str, str]) -> None:
    alice = users("alice")
    pid, _, _ = planned(alice)

    answer = alice.get(f"/v1/projects/{pid}/diff", params=params)

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
