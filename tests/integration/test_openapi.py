"""The OpenAPI document describes the answers the service really sends (see api/openapi.py)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.problems import PROBLEM_JSON


def _operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    document = client.get("/openapi.json").json()
    return [
        (method.upper(), path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_every_error_answer_is_documented_as_problem_json(client: TestClient) -> None:
    wrong = [
        f"{method} {path} {status}: {sorted(answer.get('content', {}))}"
        for method, path, operation in _operations(client)
        for status, answer in operation["responses"].items()
        if status.startswith(("4", "5")) and list(answer.get("content", {})) != [PROBLEM_JSON]
    ]

    assert wrong == []


def test_every_read_that_waits_for_min_position_documents_its_503(client: TestClient) -> None:
    waiting = [
        (path, operation)
        for method, path, operation in _operations(client)
        if method == "GET"
        and any(p["name"] == "min_position" for p in operation.get("parameters", []))
    ]

    assert {path for path, _ in waiting} >= {"/v1/audit", "/v1/projects/{project_id}/schedule"}
    assert [path for path, operation in waiting if "503" not in operation["responses"]] == []


def test_a_real_error_answer_has_the_documented_problem_fields(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    answer = client.get("/v1/audit?limit=100000", headers={"Authorization": "Bearer nobody"})
    problem = document["components"]["schemas"]["Problem"]

    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    assert set(problem["required"]) <= set(answer.json())
