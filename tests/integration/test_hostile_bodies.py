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


def test_a_nul_character_in_a_filter_or_a_looked_up_name_is_422_not_500(users: Users) -> None:
    alice = users("alice")
    pid = alice.post("/v1/projects", {"name": "Filtered"}).json()["project_id"]

    answers = [
        alice.get("/v1/audit", params={"actor": "a\u0000b"}),
        alice.get("/v1/audit", params={"type": "a\u0000b"}),
        alice.get("/v1/audit", params={"entity_id": "a\u0000b"}),
        alice.post(f"/v1/projects/{pid}/members", {"principal": "a\u0000b", "role": "viewer"}),
    ]

    assert [a.status_code for a in answers] == [422] * 4
    assert all(a.headers["content-type"] == PROBLEM_JSON for a in answers)
    assert alice.get(f"/v1/projects/{pid}").json()["version"] == 1
