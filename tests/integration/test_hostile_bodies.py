"""Bodies a fuzzer sends (found by reliability check 9): refused with 422, nothing written."""

from __future__ import annotations

from api.problems import PROBLEM_JSON
from tests.integration.conftest import Users


def test_a_body_that_is_not_even_utf8_is_422_problem_json_and_writes_nothing(users: Users) -> None:
    alice = users("alice")
    pid = alice.post("/v1/projects", {"name": "Fuzzed"}).json()["project_id"]

    response = alice.request(
        "POST",
        f"/v1/projects/{pid}/phases",
        content=b"\xff\xfe\x00not json",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"].endswith("/invalid-request")
    assert alice.get(f"/v1/projects/{pid}").json()["version"] == 1


def test_a_name_with_a_nul_character_is_422_and_the_views_keep_working(users: Users) -> None:
    alice = users("alice")

    refused = alice.post("/v1/projects", {"name": "Nul\u0000byte"})
    created = alice.post("/v1/projects", {"name": "After the NUL"}).json()
    listed = alice.get("/v1/projects", params={"min_position": created["position"]})

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "name"
    assert listed.status_code == 200
    assert [p["name"] for p in listed.json()] == ["After the NUL"]
