"""Electronic signatures (R23) through the API: signing passwords, the deployment setting that
requires them, refusals that store nothing, and the lock after five failures in a row."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from adapters.postgres.principals import TokenScope
from adapters.postgres.signatures import LOCK_AFTER
from api.bootstrap import Container
from application.access import GlobalRole
from cli.main import main
from tests.integration.conftest import User, Users
from tests.integration.scripted import ok

PASSWORD = "correct horse battery"


@pytest.fixture
def signatures_required(container: Container) -> Iterator[None]:
    """The deployment requires signatures (MILESTONES_SIGNATURES_REQUIRED=y) for one test."""
    before = container.settings
    container.settings = replace(before, signatures_required=True)
    try:
        yield
    finally:
        container.settings = before


def _version(user: User, pid: str) -> int:
    version: int = ok(user.get(f"/v1/projects/{pid}"))["version"]
    return version


def _in_review(alice: User, carol: User) -> tuple[str, str]:
    pid = ok(alice.post("/v1/projects", {"name": "Signed"}))["project_id"]
    base = f"/v1/projects/{pid}"
    ok(alice.post(f"{base}/members", {"principal": carol.name, "role": "reviewer"}))
    phase = ok(alice.post(f"{base}/phases", {"name": "Design"}))["phase_id"]
    did = ok(alice.post(f"{base}/deliverables", {"title": "Spec", "phase_id": phase}))[
        "deliverable_id"
    ]
    cid = ok(alice.post(f"{base}/deliverables/{did}/criteria", {"text": "reviewed"}))[
        "criterion_id"
    ]
    ok(
        alice.post(
            f"{base}/deliverables/{did}/criteria/{cid}/evidence",
            {"evidence": "https://example.org/spec"},
        )
    )
    ok(alice.post(f"{base}/deliverables/{did}/submit", {}))
    return pid, did


def _set_password(user: User, password: str = PASSWORD) -> Any:
    return user.put("/v1/principals/me/signing-password", json={"password": password})


def test_a_principal_sets_its_own_signing_password_and_signs_with_it(
    users: Users, signatures_required: None
) -> None:
    alice, carol = users("alice"), users("carol")
    pid, did = _in_review(alice, carol)

    assert _set_password(carol).status_code == 204
    approved = carol.post(
        f"/v1/projects/{pid}/deliverables/{did}/approve",
        {"meaning": "review", "password": PASSWORD},
    )

    assert approved.status_code == 200, approved.text
    events = ok(alice.get(f"/v1/projects/{pid}/history"))["events"]
    [approval] = [e for e in events if e["type"] == "DeliverableApproved"]
    assert (approval["actor"], approval["data"]["meaning"]) == (carol.name, "review")
    assert "password" not in approval["data"]


def test_a_wrong_signing_password_stores_nothing_and_the_sixth_attempt_is_locked(
    users: Users, signatures_required: None
) -> None:
    alice, carol = users("alice"), users("carol")
    admin = users("admin", GlobalRole.ADMIN)
    pid, did = _in_review(alice, carol)
    _set_password(carol)
    path = f"/v1/projects/{pid}/deliverables/{did}/approve"
    version = _version(alice, pid)

    wrong = [carol.post(path, {"password": f"wrong {n}"}) for n in range(LOCK_AFTER)]
    sixth = carol.post(path, {"password": PASSWORD})  # right, but signing is locked

    assert [r.status_code for r in wrong] == [401] * LOCK_AFTER
    assert all(r.headers["content-type"] == "application/problem+json" for r in wrong)
    assert wrong[0].json()["type"].endswith("signature-refused")
    assert sixth.status_code == 401
    assert "locked" in sixth.json()["detail"]
    assert sixth.json()["locked_until"]
    assert _version(alice, pid) == version
    deliverable = ok(alice.get(f"/v1/projects/{pid}"))["deliverables"][0]
    assert deliverable["state"] == "in_review"
    status = ok(admin.get(f"/v1/principals/{carol.name}/signing"))
    assert (status["password_set"], status["failures_in_a_row"]) == (True, LOCK_AFTER)
    assert status["locked_until"] is not None
    assert carol.get(f"/v1/principals/{carol.name}/signing").status_code == 403


def test_without_a_password_a_required_signature_is_401_and_changes_nothing(
    users: Users, signatures_required: None
) -> None:
    alice, carol = users("alice"), users("carol")
    pid, did = _in_review(alice, carol)
    _set_password(carol)
    version = _version(alice, pid)

    missing = carol.post(f"/v1/projects/{pid}/deliverables/{did}/reject", {"reason": "no"})
    unset = alice.post(
        f"/v1/projects/{pid}/deliverables/{did}/reopen", {"reason": "redo", "password": "x" * 9}
    )

    assert missing.status_code == 401
    assert unset.status_code == 401
    assert "no signing password" in unset.json()["detail"]
    assert _version(alice, pid) == version


def test_with_signatures_off_the_api_works_as_before_and_a_given_password_is_checked(
    users: Users,
) -> None:
    alice, carol = users("alice"), users("carol")
    pid, did = _in_review(alice, carol)
    _set_password(carol)
    path = f"/v1/projects/{pid}/deliverables/{did}/approve"

    wrong = carol.post(path, {"password": "not it at all"})
    plain = carol.post(path, {})

    assert wrong.status_code == 401
    assert plain.status_code == 200


def test_a_signing_password_out_of_bounds_is_422_and_a_read_only_token_cannot_set_one(
    users: Users, container: Container
) -> None:
    carol = users("carol")

    short = _set_password(carol, "short")

    assert short.status_code == 422
    assert short.headers["content-type"] == "application/problem+json"
    token = container.principals.create_token(carol.name, TokenScope(read_only=True))
    reader = User(carol.name, token, carol.client)
    refused = _set_password(reader)
    assert refused.status_code == 403
    assert container.signatures.status(carol.name).password_set is False


def test_principal_set_password_on_the_command_line_sets_the_password_and_printed_name(
    users: Users,
    container: Container,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    carol = users("carol")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{PASSWORD}\n"))

    code = main(["principal", "set-password", carol.name, "--display-name", "Carol Cline"])

    assert code == 0
    assert PASSWORD not in capsys.readouterr().out
    signer = container.signatures.verify(carol.name, PASSWORD)
    assert (signer.name, signer.display_name) == (carol.name, "Carol Cline")
