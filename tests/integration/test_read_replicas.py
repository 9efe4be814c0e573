"""Reads from a real streaming replica (`MILESTONES_READ_URLS`): read-your-writes through it with
`min_position`, the replica stopped under load (reads fail over to the primary, no 5xx but the
documented 503 with Retry-After), and the replica restarted (back in rotation by itself).

The primary and its replica are two real PostgreSQL servers this module starts
(tests/integration/replication.py) and stops, with their directories, whatever happens.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from adapters.postgres.embedded import ensure_database
from adapters.signing import load_or_create_key
from api.app import create_app
from api.bootstrap import Container, bootstrap, upgrade
from api.settings import Settings
from application.access import GlobalRole
from projections.audit import AuditFilter, audit_page
from projections.projects.queries import list_projects
from tests.integration.replication import Pair, streaming_pair

# Bounds how long a broken run waits for what should take a second or two.
PATIENCE = 30.0


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    with streaming_pair() as started:
        yield started


@pytest.fixture(scope="module")
def service(pair: Pair, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    url = ensure_database(pair.primary.url(), "milestones")
    key = Path(tmp_path_factory.mktemp("replica-key")) / "signing-key"
    load_or_create_key(key)
    settings = Settings(
        pool_size=4,
        pool_max_overflow=4,
        signing_key=key,
        # The test servers trade durability for speed (fsync off).
        allow_unsafe_durability=True,
        read_urls=pair.replica.url("milestones"),
        # Small, so that the lag test need not wait long for a paused replica to leave.
        read_max_lag=1.0,
    )
    upgrade(url, settings)
    pair.wait_replayed("milestones")
    container = bootstrap(settings, url)
    try:
        yield container
    finally:
        container.close()


@pytest.fixture(scope="module")
def client(service: Container) -> Iterator[TestClient]:
    with TestClient(create_app(service), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def auth(service: Container) -> dict[str, str]:
    service.principals.add("reader", GlobalRole.MEMBER)
    return {"Authorization": f"Bearer {service.principals.create_token('reader')}"}


def _eventually(check: Any, what: str) -> Any:
    deadline = time.monotonic() + PATIENCE
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {PATIENCE} s: {what}")
        time.sleep(0.05)


def _replica(client: TestClient) -> dict[str, Any]:
    ready = client.get("/ready").json()
    replicas: dict[str, Any] = ready["replicas"]
    (only,) = replicas.values()
    return dict(only)


def _reads_on_replica(service: Container) -> int:
    (replica,) = service.reading.replicas.all
    return replica.reads


def _in_rotation(client: TestClient) -> bool:
    return bool(_replica(client)["in_rotation"])


def test_a_read_with_min_position_on_the_replica_sees_the_write_just_made(
    service: Container, client: TestClient, auth: dict[str, str]
) -> None:
    _eventually(lambda: _in_rotation(client), "the replica is in rotation")
    made = client.post("/v1/projects", json={"name": "Replicated"}, headers=auth)
    assert made.status_code == 201, made.text
    pid = made.json()["project_id"]
    before = _reads_on_replica(service)
    for number in range(20):
        # Each write is read back at once, through the replica, by its position.
        added = client.post(f"/v1/projects/{pid}/phases", json={"name": f"P{number}"}, headers=auth)
        assert added.status_code == 201, added.text
        position = added.json()["position"]
        schedule = client.get(
            f"/v1/projects/{pid}/schedule", params={"min_position": position}, headers=auth
        )
        assert schedule.status_code == 200, schedule.text
        assert [phase["name"] for phase in schedule.json()["phases"]][-1] == f"P{number}"
        listed = client.get("/v1/projects", params={"min_position": position}, headers=auth)
        assert [(p["id"], p["version"]) for p in listed.json()] == [(pid, added.json()["version"])]
        # A read of the past shows the caller's own write too (no min_position needed).
        history = client.get(f"/v1/projects/{pid}/history", headers=auth).json()
        assert history["events"][-1]["position"] == position
    assert _reads_on_replica(service) >= before + 40  # the views' reads went to the replica
    replica = _replica(client)
    assert replica["in_rotation"] is True
    assert replica["lag_positions"] is not None
    assert replica["lag_seconds"] is not None
    assert replica["replayed_ago_seconds"] is not None  # PostgreSQL's own figure, shown too
    metrics = client.get("/metrics").text
    assert "milestones_replica_lag_positions{" in metrics
    assert "milestones_replica_lag_seconds{" in metrics
    assert "milestones_replica_in_rotation{" in metrics


def test_reads_of_the_past_answer_from_the_replica_once_it_has_the_project(
    service: Container, client: TestClient, auth: dict[str, str], pair: Pair
) -> None:
    _eventually(lambda: _in_rotation(client), "the replica is in rotation")
    made = client.post("/v1/projects", json={"name": "Past"}, headers=auth).json()
    pid = made["project_id"]
    client.post(f"/v1/projects/{pid}/phases", json={"name": "Design"}, headers=auth)
    pair.wait_replayed("milestones")
    (replica,) = service.reading.replicas.all
    reads, failovers = replica.reads, replica.failovers
    history = client.get(f"/v1/projects/{pid}/history", headers=auth)
    retro = client.get(f"/v1/projects/{pid}/retrospective", headers=auth)
    diff = client.get(
        f"/v1/projects/{pid}/diff", params={"from": "2000-01-01T00:00:00Z"}, headers=auth
    )
    as_of = client.get(
        f"/v1/projects/{pid}", params={"as_of": "2999-01-01T00:00:00Z"}, headers=auth
    )
    audit = client.get("/v1/audit", params={"project_id": pid}, headers=auth)
    assert [e["type"] for e in history.json()["events"]][-1] == "PhaseAdded"
    assert retro.status_code == 200, retro.text
    assert diff.status_code == 200, diff.text
    assert (diff.json()["from"]["version"], diff.json()["to"]["version"]) == (0, 2)
    assert [p["name"] for p in as_of.json()["phases"]] == ["Design"]
    assert len(audit.json()["items"]) == 2
    # history, retrospective, diff, as_of and the audit page, each read on the replica.
    assert replica.reads >= reads + 5
    assert replica.failovers == failovers


def test_a_replica_lagging_past_the_bound_leaves_rotation_and_returns_when_it_catches_up(
    service: Container, client: TestClient, auth: dict[str, str], pair: Pair
) -> None:
    _eventually(lambda: _in_rotation(client), "the replica is in rotation")
    pid = client.post("/v1/projects", json={"name": "Lag"}, headers=auth).json()["project_id"]
    with psycopg.connect(pair.replica.url("milestones"), autocommit=True) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            added = client.post(f"/v1/projects/{pid}/phases", json={"name": "Late"}, headers=auth)
            position = added.json()["position"]
            lagging = _eventually(
                lambda: (found := _replica(client))["in_rotation"] is False and found,
                "the paused replica is out of rotation",
            )
            assert lagging["lag_positions"] >= 1
            assert "lags" in lagging["problem"]
            # Meanwhile the primary answers, with the write just made.
            schedule = client.get(
                f"/v1/projects/{pid}/schedule", params={"min_position": position}, headers=auth
            )
            assert [phase["name"] for phase in schedule.json()["phases"]] == ["Late"]
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")
    back = _eventually(lambda: (found := _replica(client))["in_rotation"] and found, "back")
    assert back["lag_positions"] == 0
    assert back["lag_seconds"] == 0


def test_the_replica_stopped_under_load_fails_reads_over_and_comes_back_when_restarted(
    service: Container, client: TestClient, auth: dict[str, str], pair: Pair
) -> None:
    _eventually(lambda: _in_rotation(client), "the replica is in rotation")
    pid = client.post("/v1/projects", json={"name": "Failover"}, headers=auth).json()["project_id"]
    answers: list[httpx.Response] = []
    stop = threading.Event()

    def load() -> None:
        number = 0
        while not stop.is_set():
            number += 1
            added = client.post(
                f"/v1/projects/{pid}/phases", json={"name": f"L{number}"}, headers=auth
            )
            answers.append(added)
            position = added.json().get("position") if added.status_code == 201 else None
            for path in ("schedule", "alignment", "history", "retrospective"):
                answers.append(
                    client.get(
                        f"/v1/projects/{pid}/{path}",
                        params={"min_position": position} if path == "schedule" else {},
                        headers=auth,
                    )
                )

    worker = threading.Thread(target=load)
    worker.start()
    try:
        _eventually(lambda: len(answers) > 20, "the load is under way")
        # Stopped just after a probe: the reads under way find it gone before the next one.
        (replica,) = service.reading.replicas.all
        probed = replica.health
        _eventually(lambda: replica.health is not probed, "a probe")
        pair.stop_replica()
        _eventually(lambda: not _in_rotation(client), "the stopped replica is out of rotation")
        stopped_at = len(answers)
        _eventually(lambda: len(answers) > stopped_at + 20, "reads go on without the replica")
        ready = client.get("/ready")
        assert ready.status_code == 200, ready.text  # the primary answers: still ready
        assert "problem" in _replica(client)
        assert replica.failovers >= 1  # reads that found it gone were read on the primary

        pair.start_replica()
        _eventually(lambda: _in_rotation(client), "the restarted replica is back in rotation")
        back = _reads_on_replica(service)
        _eventually(lambda: _reads_on_replica(service) > back + 10, "reads go to it again")
    finally:
        stop.set()
        worker.join(PATIENCE)
    refused = [a for a in answers if a.status_code >= 500]
    assert all(a.status_code == 503 and "Retry-After" in a.headers for a in refused), [
        (a.status_code, a.text) for a in refused
    ]
    assert len(answers) - len(refused) > 40
    assert not [a for a in answers if 400 <= a.status_code < 500]


def test_a_member_removed_on_the_primary_reads_nothing_more_of_it_on_a_lagging_replica(
    service: Container, client: TestClient, auth: dict[str, str], pair: Pair
) -> None:
    """Who may read a project is decided on the primary (review finding F5): the project list
    and the audit trail answered by a replica that has not replayed a removal show the
    removed member nothing more of the project, though the replica still lists it a member."""
    service.principals.add("removed", GlobalRole.MEMBER)
    pid = client.post("/v1/projects", json={"name": "Left"}, headers=auth).json()["project_id"]
    added = client.post(
        f"/v1/projects/{pid}/members", json={"principal": "removed", "role": "viewer"}, headers=auth
    )
    assert added.status_code == 200, added.text
    assert service.runner.wait_for(added.json()["position"], PATIENCE)
    pair.wait_replayed("milestones")
    (replica,) = service.reading.replicas.all
    on_replica = service.reading.on(replica)
    with psycopg.connect(pair.replica.url("milestones"), autocommit=True) as paused:
        paused.execute("SELECT pg_wal_replay_pause()")
        try:
            gone = client.delete(f"/v1/projects/{pid}/members/removed", headers=auth)
            assert gone.status_code == 200, gone.text
            assert service.runner.wait_for(gone.json()["position"], PATIENCE)
            still = paused.execute(
                "SELECT count(*) FROM project_members WHERE principal = 'removed'"
                " AND project_id = %s",
                [pid],
            ).fetchone()
            assert still == (1,)  # the replica would still let the removed member in

            scope = service.reading.scope(on_replica, "removed", False, None)
            with on_replica.pool.connection() as conn:
                listed = list_projects(conn, "removed", False, scope)
                trail = audit_page(
                    conn,
                    AuditFilter(None, None, None, None, None, None, scope),
                    reader="removed",
                    read_all=False,
                    before=None,
                    limit=100,
                )
        finally:
            paused.execute("SELECT pg_wal_replay_resume()")

    assert scope is not None
    assert UUID(pid) not in scope
    assert [str(p["id"]) for p in listed] == []
    assert [str(row["project_id"]) for row in trail] == []
