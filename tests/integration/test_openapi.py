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
        if status.startswith(("4", "5"))
        and list(answer.get("content", {})) != [PROBLEM_JSON]
        # A probe's answer names the failing checks (and is documented so).
        and (path, status) != ("/ready", "503")
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


# --- as a generated client reads it (issue 16, item 6) --------------------------------------


def test_the_bearer_token_is_a_security_scheme_on_every_authenticated_operation(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    operations = _operations(client)
    authenticated = [(m, p, o) for m, p, o in operations if "401" in o["responses"]]

    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert len(authenticated) >= 30
    assert [
        f"{m} {p}" for m, p, o in authenticated if o.get("security") != [{"bearerAuth": []}]
    ] == []
    headers = [
        f"{m} {p}"
        for m, p, o in operations
        for parameter in o.get("parameters", [])
        if parameter["name"].lower() == "authorization"
    ]
    assert headers == []


def test_every_command_declares_idempotency_key_and_its_answer_headers(
    client: TestClient,
) -> None:
    commands = [(m, p, o) for m, p, o in _operations(client) if "commands" in o.get("tags", [])]

    assert len(commands) >= 20
    for method, path, operation in commands:
        names = [parameter["name"] for parameter in operation.get("parameters", [])]
        assert "Idempotency-Key" in names, f"{method} {path}"
        success = next(s for s in operation["responses"] if s.startswith("2"))
        assert "ETag" in operation["responses"][success]["headers"], f"{method} {path}"
    created = [o for m, p, o in commands if "201" in o["responses"]]
    assert all("Location" in o["responses"]["201"]["headers"] for o in created)
    [create] = [o for m, p, o in commands if (m, p) == ("POST", "/v1/projects")]
    assert "412" not in create["responses"]
    assert "413" in create["responses"]


def test_timestamps_are_date_times_and_exports_their_media_types(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    paths = document["paths"]

    assert schemas["FeedEvent"]["properties"]["occurred_at"]["format"] == "date-time"
    assert schemas["Problem"]["properties"]["errors"]["anyOf"][0]["items"] == {
        "$ref": "#/components/schemas/ProblemItem"
    }
    for path in ("/v1/audit", "/v1/projects/{project_id}/history"):
        answer = paths[path]["get"]["responses"]
        assert set(answer["200"]["content"]) >= {"text/csv", "application/x-ndjson"}
        assert "406" in answer
    project = paths["/v1/projects/{project_id}"]["get"]["responses"]
    assert "ETag" in project["304"]["headers"]
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    assert "Retry-After" in paths["/ready"]["get"]["responses"]["503"]["headers"]
