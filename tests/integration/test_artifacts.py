"""Artifacts: files kept by their SHA-256 per project, append-only, served with ETag and Range
(issue 14, item 2)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from api.bootstrap import Container
from tests.integration.conftest import User, Users


def upload(user: User, pid: str, content: Any, **headers: str) -> Any:
    return user.request(
        "POST",
        f"/v1/projects/{pid}/artifacts",
        content=content,
        headers={"Content-Type": "text/plain", **headers},
    )


@pytest.fixture
def project(users: Users) -> tuple[User, str]:
    manager = users("manager")
    pid = manager.post("/v1/projects", {"name": "With files"}).json()["project_id"]
    return manager, pid


@pytest.fixture
def small_limit(container: Container) -> Iterator[int]:
    """The service with a 1000-byte limit on artifacts, for this test only."""
    kept = container.settings
    container.settings = replace(kept, artifact_max_bytes=1000)
    try:
        yield 1000
    finally:
        container.settings = kept


def test_an_upload_answers_its_digest_and_the_same_bytes_are_kept_once(
    project: tuple[User, str],
) -> None:
    manager, pid = project
    body = b"the signed test report\n"

    first = upload(
        manager, pid, body, **{"Content-Disposition": 'attachment; filename="C:\\tmp\\report.txt"'}
    )
    again = upload(manager, pid, body, **{"Content-Type": "application/pdf"})

    assert first.status_code == 201, first.text
    assert first.json() == {
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "media_type": "text/plain",
        "filename": "report.txt",
    }
    assert first.headers["Location"].endswith(f"/artifacts/{first.json()['sha256']}")
    assert again.status_code == 200
    assert again.json() == first.json()  # the bytes keep their first name and type


def test_a_member_reads_the_bytes_with_their_digest_as_etag_and_by_range(
    project: tuple[User, str],
) -> None:
    manager, pid = project
    # Over the 1 MiB limit of JSON bodies, and more than one slice of reading and writing.
    body = os.urandom(2 * 1024 * 1024 + 17)
    digest = upload(manager, pid, body, **{"Content-Type": "application/pdf"}).json()["sha256"]
    url = f"/v1/projects/{pid}/artifacts/{digest}"

    whole = manager.get(url)
    cached = manager.get(url, headers={"If-None-Match": f'"{digest}"'})
    middle = manager.get(url, headers={"Range": "bytes=1048570-1048590"})
    tail = manager.get(url, headers={"Range": "bytes=-5"})
    beyond = manager.get(url, headers={"Range": f"bytes={len(body)}-"})

    assert whole.status_code == 200
    assert whole.content == body
    assert whole.headers["content-type"] == "application/pdf"
    assert whole.headers["etag"] == f'"{digest}"'
    assert whole.headers["x-content-type-options"] == "nosniff"
    assert cached.status_code == 304
    assert middle.status_code == 206
    assert middle.content == body[1048570:1048591]
    assert middle.headers["content-range"] == f"bytes 1048570-1048590/{len(body)}"
    assert tail.content == body[-5:]
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(body)}"


def test_only_the_projects_people_read_or_upload_its_artifacts(
    project: tuple[User, str], users: Users
) -> None:
    manager, pid = project
    digest = upload(manager, pid, b"private").json()["sha256"]
    stranger = users("stranger")
    viewer = users("viewer")
    manager.post(f"/v1/projects/{pid}/members", {"principal": viewer.name, "role": "viewer"})

    assert stranger.get(f"/v1/projects/{pid}/artifacts/{digest}").status_code == 404
    assert upload(stranger, pid, b"x").status_code == 404
    assert viewer.get(f"/v1/projects/{pid}/artifacts/{digest}").status_code == 200
    assert upload(viewer, pid, b"x").status_code == 403
    assert manager.get(f"/v1/projects/{pid}/artifacts/{'0' * 64}").status_code == 404
    assert manager.get(f"/v1/projects/{pid}/artifacts/NOT-A-DIGEST").status_code == 422


def test_an_upload_over_the_limit_is_413_and_stores_nothing(
    project: tuple[User, str], small_limit: int
) -> None:
    manager, pid = project
    body = b"x" * (small_limit + 1)

    declared = upload(manager, pid, body)
    streamed = upload(manager, pid, iter([body[:600], body[600:]]))  # chunked: no length

    for answer in (declared, streamed):
        assert answer.status_code == 413
        assert answer.headers["content-type"] == "application/problem+json"
    digest = hashlib.sha256(body).hexdigest()
    assert manager.get(f"/v1/projects/{pid}/artifacts/{digest}").status_code == 404
    assert upload(manager, pid, body[:small_limit]).status_code == 201


def test_an_empty_body_or_a_bad_media_type_or_file_name_is_422(
    project: tuple[User, str],
) -> None:
    manager, pid = project

    empty = upload(manager, pid, b"")
    bad_type = upload(manager, pid, b"x", **{"Content-Type": "not a type"})
    bad_name = upload(manager, pid, b"x", **{"Content-Disposition": 'attachment; filename="a\tb"'})

    assert [empty.status_code, bad_type.status_code, bad_name.status_code] == [422, 422, 422]


def test_stored_artifacts_can_be_neither_changed_nor_deleted_nor_mislabelled(
    project: tuple[User, str], upgraded_database: str
) -> None:
    manager, pid = project
    digest = upload(manager, pid, b"kept for ever").json()["sha256"]
    refused: list[str] = []
    with psycopg.connect(upgraded_database, autocommit=True) as conn:  # a superuser
        for statement in (
            "UPDATE artifacts SET content = 'forged' WHERE sha256 = decode(%s, 'hex')",
            "DELETE FROM artifacts WHERE sha256 = decode(%s, 'hex')",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as error:
                conn.execute(statement, (digest,))
            refused.append(str(error.value))
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO artifacts (project_id, sha256, size, media_type, uploaded_by,"
                " content) VALUES (%s, sha256('other'), 5, 'text/plain', 'mallory', 'bytes')",
                (pid,),
            )

    assert all("append-only" in text for text in refused)
    assert manager.get(f"/v1/projects/{pid}/artifacts/{digest}").content == b"kept for ever"


def test_evidence_naming_an_artifact_is_pinned_by_the_approval(
    project: tuple[User, str], users: Users
) -> None:
    manager, pid = project
    reviewer = users("reviewer")
    manager.post(f"/v1/projects/{pid}/members", {"principal": reviewer.name, "role": "reviewer"})
    base = f"/v1/projects/{pid}"
    phase = manager.post(f"{base}/phases", {"name": "Test"}).json()["phase_id"]
    did = manager.post(f"{base}/deliverables", {"title": "Report", "phase_id": phase}).json()[
        "deliverable_id"
    ]
    first = manager.post(f"{base}/deliverables/{did}/criteria", {"text": "tested"}).json()[
        "criterion_id"
    ]
    second = manager.post(f"{base}/deliverables/{did}/criteria", {"text": "linked"}).json()[
        "criterion_id"
    ]
    report = b"%PDF-1.7 the test report"
    digest = upload(
        manager,
        pid,
        report,
        **{
            "Content-Type": "application/pdf",
            "Content-Disposition": 'attachment; filename="r.pdf"',
        },
    ).json()["sha256"]
    criteria = f"{base}/deliverables/{did}/criteria"

    unknown = manager.post(f"{criteria}/{first}/evidence", {"artifact": "f" * 64})
    neither = manager.post(f"{criteria}/{first}/evidence", {})
    named = manager.post(f"{criteria}/{first}/evidence", {"artifact": digest})
    linked = manager.post(
        f"{criteria}/{second}/evidence", {"evidence": "https://example.org/x", "sha256": "a" * 64}
    )
    manager.post(f"{base}/deliverables/{did}/submit", {})
    approved = reviewer.post(f"{base}/deliverables/{did}/approve", {})

    assert unknown.status_code == 422, unknown.text
    assert neither.status_code == 422, neither.text
    assert named.status_code == 200, named.text
    assert linked.status_code == 200, linked.text
    assert approved.status_code == 200, approved.text
    events = manager.get(f"{base}/history").json()["events"]
    [recorded] = [
        e["data"]
        for e in events
        if e["type"] == "EvidenceRecorded" and e["data"]["criterion_id"] == first
    ]
    assert recorded["evidence"] == "r.pdf"
    assert recorded["artifact"] == {
        "sha256": digest,
        "size": len(report),
        "media_type": "application/pdf",
        "filename": "r.pdf",
    }
    [approval] = [e["data"] for e in events if e["type"] == "DeliverableApproved"]
    assert approval["evidence_digests"] == [
        {"criterion_id": first, "artifact": digest, "sha256": None},
        {"criterion_id": second, "artifact": None, "sha256": "a" * 64},
    ]
    shown = manager.get(base).json()
    [deliverable] = [d for d in shown["deliverables"] if d["id"] == did]
    assert deliverable["criteria"][0]["evidence"]["artifact"]["sha256"] == digest
