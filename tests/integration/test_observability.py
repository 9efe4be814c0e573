"""Health, readiness, Prometheus metrics and structured request logs, as an operator sees them."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.logs import JsonFormatter
from tests.integration.conftest import Users
from tests.integration.scripted import ok


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log record of the service, as the JSON lines it writes off a terminal."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_health_says_the_process_is_alive(client: TestClient) -> None:
    response = client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_ready_when_the_database_answers_and_every_view_is_processed(client: TestClient) -> None:
    body = ok(client.get("/ready"))
    assert body["status"] == "ready"
    assert body["database"] == "ok"
    assert {"schedule", "projects"} <= set(body["views"])
    assert all(view["running"] for view in body["views"].values())


def test_metrics_count_requests_commands_events_and_report_views_and_pools(
    users: Users, client: TestClient
) -> None:
    alice = users("alice")
    created = ok(alice.post("/v1/projects", {"name": "Metered secret name"}))
    alice.post(f"/v1/projects/{created['project_id']}/phases", {"name": ""})  # 422
    ok(alice.get("/v1/projects", params={"min_position": created["position"]}))

    response = client.get("/metrics")
    text = response.text
    pid = os.getpid()  # the test's client serves in this process

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'milestones_http_requests_total{method="POST",route="/v1/projects",status="201"}' in text
    route = "/v1/projects/{project_id}/phases"
    assert f'milestones_commands_total{{method="POST",outcome="4xx",route="{route}"}}' in text
    assert "milestones_http_request_duration_seconds_bucket" in text
    assert _value(text, "milestones_events_appended_total") >= 1
    assert _value(text, 'milestones_view_lag_events{view="schedule"}') >= 0
    assert _value(text, 'milestones_view_lag_seconds{view="projects"}') >= 0
    assert _value(text, 'milestones_view_position{view="projects"}') >= created["position"]
    assert _value(text, 'milestones_view_held{view="schedule"}') == 1
    assert _value(text, "milestones_database_up") == 1
    assert 'pool="views"} ' in text
    assert 'milestones_db_pool_waiting{pid="' in text
    assert _value(text, f'milestones_project_cache_entries{{pid="{pid}"}}') >= 1
    cached = _value(text, f'milestones_project_cache_bytes{{pid="{pid}"}}')
    assert 0 < cached <= _value(text, f'milestones_project_cache_max_bytes{{pid="{pid}"}}')
    for counted in ("hits", "misses", "evictions"):
        assert _value(text, f'milestones_project_cache_{counted}_total{{pid="{pid}"}}') >= 0
    # The garbage collector: Python's generations, and the full passes on the timer.
    young = _value(text, f'milestones_gc_collections_total{{generation="0",pid="{pid}"}}')
    assert young >= 1
    passes = _value(text, f'milestones_gc_full_passes_total{{pid="{pid}"}}')
    longest = _value(text, f'milestones_gc_full_pass_max_seconds{{pid="{pid}"}}')
    assert (passes, longest) == (0, 0) or (passes >= 1 and longest > 0)  # none yet, or timed
    # No project data: neither names nor ids.
    assert "Metered secret name" not in text
    assert created["project_id"] not in text


def _value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {sample} in the metrics")


def test_a_request_id_is_taken_from_the_caller_or_made_and_always_answered(
    client: TestClient,
) -> None:
    given = client.get("/health", headers={"X-Request-ID": "trace-42.a"})
    made = client.get("/health")
    forged = client.get("/health", headers={"X-Request-ID": 'bad id"\n{'})

    assert given.headers["X-Request-ID"] == "trace-42.a"
    assert len(made.headers["X-Request-ID"]) == 32
    assert forged.headers["X-Request-ID"] != 'bad id"\n{'


def test_request_logs_name_the_request_principal_and_route_but_never_the_token_or_evidence(
    users: Users, log_lines: io.StringIO
) -> None:
    alice = users("alice")
    secret_evidence = "https://evidence.example/confidential-report-7f3a.pdf"
    pid = ok(alice.post("/v1/projects", {"name": "Logged"}))["project_id"]
    phase = ok(alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"}))["phase_id"]
    did = ok(
        alice.post(f"/v1/projects/{pid}/deliverables", {"title": "Report", "phase_id": phase})
    )["deliverable_id"]
    cid = ok(alice.post(f"/v1/projects/{pid}/deliverables/{did}/criteria", {"text": "done"}))[
        "criterion_id"
    ]
    evidence_path = f"/v1/projects/{pid}/deliverables/{did}/criteria/{cid}/evidence"
    recorded = alice.post(
        evidence_path, {"evidence": secret_evidence}, headers={"X-Request-ID": "evidence-req"}
    )
    alice.client.get("/v1/projects", headers={"Authorization": "Bearer not-a-real-token-123"})

    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    written = log_lines.getvalue()

    assert recorded.status_code in (200, 201)
    assert alice.token not in written
    assert "not-a-real-token-123" not in written
    assert secret_evidence not in written
    request = next(line for line in lines if line.get("request_id") == "evidence-req")
    assert request["principal"] == alice.name
    assert request["route"] == (
        "/v1/projects/{project_id}/deliverables/{deliverable_id}/criteria/{criterion_id}/evidence"
    )
    assert request["method"] == "POST"
    assert request["status"] == recorded.status_code
    assert "duration_ms" in request
