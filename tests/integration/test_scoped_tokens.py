"""Scoped, expiring tokens (issue 16, item 3): a token's scope narrows its principal's rights and
never widens them; an expired or revoked token is refused with a detail that says which."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from adapters.postgres.principals import TokenScope
from api.bootstrap import Container
from application.access import GlobalRole
from cli.main import main
from tests.integration.conftest import User, Users


def _scoped(container: Container, user: User, scope: TokenScope) -> User:
    return User(user.name, container.principals.create_token(user.name, scope), user.client)


@pytest.fixture
def manager(users: Users) -> User:
    return users("manager")


def _project(user: User, name: str = "Scoped") -> str:
    response = user.post("/v1/projects", {"name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["project_id"])


def test_a_read_only_tokens_command_is_refused_with_403_and_changes_nothing(
    container: Container, manager: User
) -> None:
    pid = _project(manager)
    reader = _scoped(container, manager, TokenScope(read_only=True))
    before = manager.get(f"/v1/projects/{pid}").json()["version"]

    refused = reader.post(f"/v1/projects/{pid}/phases", {"name": "Build"})

    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "read-only" in refused.json()["detail"]
    assert manager.get(f"/v1/projects/{pid}").json()["version"] == before
    assert reader.get(f"/v1/projects/{pid}").status_code == 200


def test_a_read_only_token_cannot_create_a_project(container: Container, manager: User) -> None:
    reader = _scoped(container, manager, TokenScope(read_only=True))

    assert reader.post("/v1/projects", {"name": "Nope"}).status_code == 403


def test_a_project_scoped_token_sees_404_for_the_principals_other_projects(
    container: Container, manager: User
) -> None:
    mine, other = _project(manager, "In scope"), _project(manager, "Out of scope")
    scoped = _scoped(container, manager, TokenScope(projects=frozenset({UUID(mine)})))

    assert scoped.get(f"/v1/projects/{mine}").status_code == 200
    added = scoped.post(f"/v1/projects/{mine}/phases", {"name": "Build"})
    assert added.status_code == 201
    assert scoped.get(f"/v1/projects/{other}").status_code == 404
    assert scoped.post(f"/v1/projects/{other}/phases", {"name": "Build"}).status_code == 404
    # Read once the view has the projects (under load it lagged: an empty list).
    seen = {"min_position": added.json()["position"]}
    assert [p["id"] for p in scoped.get("/v1/projects", params=seen).json()] == [mine]
    audited = {row["project_id"] for row in scoped.get("/v1/audit").json()["items"]}
    assert audited == {mine}


def test_a_project_scoped_token_cannot_create_a_project(
    container: Container, manager: User
) -> None:
    scoped = _scoped(container, manager, TokenScope(projects=frozenset({UUID(_project(manager))})))

    assert scoped.post("/v1/projects", {"name": "Elsewhere"}).status_code == 403


def test_a_scoped_admin_token_reaches_only_its_projects(
    container: Container, users: Users, manager: User
) -> None:
    admin = users("admin", GlobalRole.ADMIN)
    mine, other = _project(manager, "Seen"), _project(manager, "Unseen")
    scoped = _scoped(container, admin, TokenScope(projects=frozenset({UUID(mine)})))

    assert scoped.get(f"/v1/projects/{mine}").status_code == 200
    assert scoped.get(f"/v1/projects/{other}").status_code == 404
    assert {row["project_id"] for row in scoped.get("/v1/audit").json()["items"]} == {mine}
    assert scoped.get("/v1/tokens").status_code == 403


def test_an_expired_token_gets_401_saying_it_expired(container: Container, manager: User) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=0.5)
    brief = _scoped(container, manager, TokenScope(expires_at=expires))
    assert brief.get("/v1/projects").status_code == 200

    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.1)
    refused = brief.get("/v1/projects")

    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert "expired" in refused.json()["detail"]
    assert refused.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_token_gets_401_saying_it_was_revoked(
    container: Container, manager: User
) -> None:
    assert container.principals.revoke_token(manager.token)

    refused = manager.get("/v1/projects")

    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]


def test_an_admin_issues_a_scoped_token_through_the_api(
    users: Users, manager: User, client: TestClient
) -> None:
    admin = users("admin", GlobalRole.ADMIN)
    pid = _project(manager)
    expires = datetime.now(UTC) + timedelta(days=30)

    issued = admin.post(
        "/v1/tokens",
        {
            "principal": manager.name,
            "projects": [pid],
            "read_only": True,
            "expires_at": expires.isoformat(),
        },
    )

    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert (body["projects"], body["read_only"]) == ([pid], True)
    made = User(manager.name, body["token"], client)
    assert made.get(f"/v1/projects/{pid}").status_code == 200
    assert made.post(f"/v1/projects/{pid}/phases", {"name": "Build"}).status_code == 403
    listed = {
        t["id"]: t for t in admin.get("/v1/tokens", params={"principal": manager.name}).json()
    }
    assert listed[body["id"]]["state"] == "live"
    assert listed[body["id"]]["projects"] == [pid]
    assert body["token"] not in admin.get("/v1/tokens").text


def test_only_an_admins_unscoped_writing_token_issues_tokens(
    container: Container, users: Users, manager: User
) -> None:
    admin = users("admin", GlobalRole.ADMIN)
    read_only_admin = _scoped(container, admin, TokenScope(read_only=True))

    assert manager.post("/v1/tokens", {"principal": manager.name}).status_code == 403
    # The database itself refuses the issue: a read-only token cannot mint a writing one.
    assert read_only_admin.post("/v1/tokens", {"principal": admin.name}).status_code == 403
    assert read_only_admin.get("/v1/tokens").status_code == 200


def test_a_bad_token_request_is_422_and_issues_nothing(users: Users, manager: User) -> None:
    admin = users("admin", GlobalRole.ADMIN)
    past = admin.post(
        "/v1/tokens", {"principal": manager.name, "expires_at": "2000-01-01T00:00:00Z"}
    )
    unknown = admin.post("/v1/tokens", {"principal": "nobody-at-all"})

    assert (past.status_code, unknown.status_code) == (422, 422)
    assert past.headers["content-type"] == "application/problem+json"
    assert len(admin.get("/v1/tokens", params={"principal": manager.name}).json()) == 1


def test_token_create_and_list_on_the_command_line_show_scope_and_expiry_never_the_secret(
    container: Container,
    client: TestClient,
    manager: User,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pid = _project(manager)
    monkeypatch.setenv("DATABASE_URL", database_url)
    args = ["token", "create", manager.name, "--project", pid, "--read-only", "--expires", "30d"]

    assert main(args) == 0
    token = capsys.readouterr().out.strip()
    assert main(["token", "list", manager.name]) == 0
    listing = capsys.readouterr().out

    made = User(manager.name, token, client)
    assert made.get(f"/v1/projects/{pid}").status_code == 200
    assert made.post(f"/v1/projects/{pid}/phases", {"name": "Build"}).status_code == 403
    assert token not in listing
    line = next(row for row in listing.splitlines() if pid in row)
    assert "read-only" in line
    assert "live" in line
    expires = datetime.fromisoformat(line.split("\t")[4])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)


def test_token_create_refuses_a_lifetime_it_cannot_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["token", "create", "someone", "--expires", "soon"])

    assert exit_.value.code == 2
    assert "30d" in capsys.readouterr().err


def test_a_narrower_token_cannot_replay_what_a_wider_one_did_under_the_same_key(
    container: Container, manager: User
) -> None:
    mine, other = _project(manager, "Mine"), _project(manager, "Other")
    key = {"Idempotency-Key": "add-build-once"}
    first = manager.post(f"/v1/projects/{other}/phases", {"name": "Build"}, headers=key)
    reader = _scoped(container, manager, TokenScope(read_only=True))
    scoped = _scoped(container, manager, TokenScope(projects=frozenset({UUID(mine)})))

    replayed_by_reader = reader.post(f"/v1/projects/{other}/phases", {"name": "Build"}, headers=key)
    replayed_by_scoped = scoped.post(f"/v1/projects/{other}/phases", {"name": "Build"}, headers=key)

    assert first.status_code == 201
    assert replayed_by_reader.status_code == 403
    assert replayed_by_scoped.status_code == 404
    again = manager.post(f"/v1/projects/{other}/phases", {"name": "Build"}, headers=key)
    assert (again.status_code, again.json()) == (201, first.json())  # the key still replays
