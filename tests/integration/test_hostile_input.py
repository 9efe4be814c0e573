"""Hostile input: oversized bodies, bad tokens, unbounded pages; and tokens stay out of logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.bootstrap import Container
from api.limits import MAX_BODY_BYTES
from cli.main import main
from tests.integration.conftest import Users


def head(container: Container) -> int:
    return container.ledger.recorder.max_notification_id() or 0


def test_a_body_over_1_mib_is_413_before_it_is_parsed(users: Users, container: Container) -> None:
    alice = users("alice")
    before = head(container)
    body = b'{"name": "' + b"x" * MAX_BODY_BYTES + b'"}'

    response = alice.request(
        "POST", "/v1/projects", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413
    assert head(container) == before


def test_a_streamed_body_without_a_length_is_cut_off_at_1_mib(
    users: Users, container: Container
) -> None:
    alice = users("alice")
    before = head(container)

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = alice.request(
        "POST", "/v1/projects", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert head(container) == before


def test_a_body_just_under_the_limit_reaches_validation(users: Users) -> None:
    alice = users("alice")
    body = b'{"name": "' + b"x" * (MAX_BODY_BYTES - 100) + b'"}'

    response = alice.request(
        "POST", "/v1/projects", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422  # a name is at most 200 characters (R14)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer ml_unknown", "Bearer", "Bearer   ", "Basic YWxpY2U6c2VjcmV0", "ml_no_scheme", ""],
)
def test_unknown_or_malformed_tokens_are_401_and_write_nothing(
    client: TestClient, container: Container, authorization: str
) -> None:
    before = head(container)

    response = client.post(
        "/v1/projects", json={"name": "Intruder"}, headers={"Authorization": authorization}
    )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert head(container) == before


def test_a_revoked_token_is_401_and_writes_nothing(
    users: Users, container: Container, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = users("alice")
    assert alice.post("/v1/projects", {"name": "Before"}).status_code == 201
    monkeypatch.setenv("DATABASE_URL", database_url)

    assert main(["token", "revoke", alice.token]) == 0
    before = head(container)
    response = alice.post("/v1/projects", {"name": "After"})

    assert response.status_code == 401
    assert head(container) == before
    assert main(["token", "revoke", alice.token]) == 1  # already revoked


@pytest.mark.parametrize("path", ["/v1/events?limit=1001", "/v1/audit?limit=1001"])
def test_page_sizes_are_capped(users: Users, path: str) -> None:
    from application.access import GlobalRole

    auditor = users("auditor", GlobalRole.AUDITOR)

    assert auditor.get(path).status_code == 422


def test_tokens_never_appear_in_logs(
    users: Users, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    alice = users("alice")
    secret = "ml_this-token-does-not-exist"
    with caplog.at_level(logging.DEBUG):
        pid = alice.post("/v1/projects", {"name": "Logged"}).json()["project_id"]
        alice.get(f"/v1/projects/{pid}")
        alice.post("/v1/projects", {"name": "x" * 300})
        client.get("/v1/projects", headers={"Authorization": f"Bearer {secret}"})
        client.post("/v1/projects", json={}, headers={"Authorization": f"Bearer {secret}"})

    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert caplog.records  # requests are logged...
    assert alice.token not in logged  # ...without the tokens
    assert secret not in logged
