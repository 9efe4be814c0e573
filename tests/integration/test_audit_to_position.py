"""The audit trail up to a position (`to_position`, issue 19): the trail as it stood after one
event, which the page's slider asks for when it shows the past."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.integration.conftest import User, Users
from tests.integration.scripted import ok, script


def audit(user: User, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(user.get("/v1/audit", params=params))["items"]
    return items


def test_the_trail_up_to_a_position_ends_with_that_event(users: Users) -> None:
    manager, reviewer = users("alice"), users("carol")
    project = script(manager, reviewer)
    everything = audit(
        manager, project_id=project.pid, limit=1000, min_position=project.last_position
    )
    middle = everything[len(everything) // 2]

    found = audit(manager, project_id=project.pid, limit=1000, to_position=middle["position"])

    assert found == [e for e in everything if e["position"] <= middle["position"]]
    assert found[0]["version"] == middle["version"]
    assert [e["version"] for e in found] == list(range(middle["version"], 0, -1))


def test_the_csv_export_follows_the_same_position(users: Users) -> None:
    manager, reviewer = users("alice"), users("carol")
    project = script(manager, reviewer)
    everything = audit(
        manager, project_id=project.pid, limit=1000, min_position=project.last_position
    )
    third = next(e for e in everything if e["version"] == 3)

    response = manager.get(
        "/v1/audit/export", params={"project_id": project.pid, "to_position": third["position"]}
    )

    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["version"]) for r in rows] == [3, 2, 1]


def test_to_position_must_be_a_positive_whole_number(users: Users) -> None:
    manager = users("alice")

    response = manager.get("/v1/audit", params={"to_position": 0})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
