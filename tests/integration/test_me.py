"""`GET /v1/me` (issue 19): who a token signs in as, for the web page's "signed in as" line."""

from __future__ import annotations

from uuid import uuid4

from fastapi.testclient import TestClient

from adapters.postgres.principals import TokenScope
from api.bootstrap import Container
from application.access import GlobalRole
from tests.integration.conftest import User, Users


def test_a_token_says_whom_it_signs_in_as_and_its_scope(container: Container, users: Users) -> None:
    auditor = users("auditor", GlobalRole.AUDITOR)
    pid = uuid4()
    scoped = User(
        auditor.name,
        container.principals.create_token(
            auditor.name, TokenScope(projects=frozenset({pid}), read_only=True)
        ),
        auditor.client,
    )

    assert auditor.get("/v1/me").json() == {
        "principal": auditor.name,
        "role": "auditor",
        "projects": None,
        "read_only": False,
    }
    assert scoped.get("/v1/me").json() == {
        "principal": auditor.name,
        "role": "auditor",
        "projects": [str(pid)],
        "read_only": True,
    }


def test_without_a_known_token_me_is_401_problem_json(client: TestClient) -> None:
    missing = client.get("/v1/me")
    unknown = client.get("/v1/me", headers={"Authorization": "Bearer not-a-token"})

    assert missing.status_code == unknown.status_code == 401
    assert unknown.headers["content-type"] == "application/problem+json"
