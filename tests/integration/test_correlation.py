"""Correlation ids (issue 16, item 5): every event carries the id of the request that caused it
(its Idempotency-Key, else its X-Request-ID, else one the service made), shown in the feed, the
history and the audit trail, and `GET /v1/events?correlation_id=` finds what one request caused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql

from adapters.postgres.dbroles import OWNER_ROLE
from api.bootstrap import Container
from application.access import GlobalRole
from tests.integration.conftest import User, Users
from tests.integration.scripted import ok


def _project(user: User) -> str:
    return str(ok(user.post("/v1/projects", {"name": "Correlated"}))["project_id"])


def _caused(user: User, correlation_id: str) -> list[dict[str, Any]]:
    page = ok(user.get("/v1/events", params={"correlation_id": correlation_id}))
    return list(page["events"])


def test_the_events_of_a_command_carry_its_idempotency_key(users: Users) -> None:
    alice, auditor = users("alice"), users("auditor", GlobalRole.AUDITOR)
    pid = _project(alice)

    added = alice.post(
        f"/v1/projects/{pid}/phases", {"name": "Build"}, headers={"Idempotency-Key": "add-build-1"}
    )

    assert added.status_code == 201
    caused = _caused(auditor, "add-build-1")
    assert [e["position"] for e in caused] == [added.json()["position"]]
    assert caused[0]["type"] == "PhaseAdded"
    assert caused[0]["correlation_id"] == "add-build-1"


def test_without_a_key_the_request_id_correlates_given_or_made(users: Users) -> None:
    alice, admin = users("alice"), users("admin", GlobalRole.ADMIN)
    pid = _project(alice)

    given = alice.post(
        f"/v1/projects/{pid}/phases", {"name": "A"}, headers={"X-Request-ID": "rq-7"}
    )
    made = alice.post(f"/v1/projects/{pid}/phases", {"name": "B"})

    assert [e["position"] for e in _caused(admin, "rq-7")] == [given.json()["position"]]
    made_id = made.headers["X-Request-ID"]
    assert [e["position"] for e in _caused(admin, made_id)] == [made.json()["position"]]


def test_history_audit_and_feed_show_the_correlation_id(users: Users, container: Container) -> None:
    alice = users("alice")
    pid = _project(alice)
    request = {"X-Request-ID": "rq-9"}
    added = ok(alice.post(f"/v1/projects/{pid}/phases", {"name": "Ship"}, headers=request))
    assert container.runner.wait_for(added["position"], timeout=10)

    history = ok(alice.get(f"/v1/projects/{pid}/history"))["events"]
    audit = ok(alice.get("/v1/audit", params={"project_id": pid}))["items"]
    feed = ok(alice.get("/v1/events", params={"after": added["position"] - 1}))["events"]

    assert history[-1]["correlation_id"] == "rq-9"
    assert history[0]["correlation_id"] not in (None, "rq-9")  # the creation was another request
    assert [i["correlation_id"] for i in audit if i["position"] == added["position"]] == ["rq-9"]
    assert [(e["position"], e["correlation_id"]) for e in feed] == [(added["position"], "rq-9")]


def test_a_member_finds_only_what_a_request_caused_in_projects_it_reads(
    users: Users, container: Container
) -> None:
    alice, bob = users("alice"), users("bob")
    pid = _project(alice)
    key = {"Idempotency-Key": "shared-key"}
    mine = ok(alice.post(f"/v1/projects/{pid}/phases", {"name": "Alice's"}, headers=key))
    assert container.runner.wait_for(mine["position"], timeout=10)

    assert _caused(bob, "shared-key") == []
    assert [e["position"] for e in _caused(alice, "shared-key")] == [mine["position"]]


def test_concurrent_commands_saved_together_keep_their_own_ids(users: Users) -> None:
    alice, auditor = users("alice"), users("auditor", GlobalRole.AUDITOR)
    pids = [_project(alice) for _ in range(8)]

    def add(n: int) -> int:
        key = {"Idempotency-Key": f"together-{n}"}
        return int(
            ok(alice.post(f"/v1/projects/{pids[n]}/phases", {"name": "P"}, headers=key))["position"]
        )

    with ThreadPoolExecutor(3) as pool:
        positions = list(pool.map(add, range(8)))

    found = [[e["position"] for e in _caused(auditor, f"together-{n}")] for n in range(8)]
    assert found == [[p] for p in positions]


def test_correlation_ids_are_append_only_and_name_stored_events(
    users: Users, container: Container, database_url: str
) -> None:
    alice = users("alice")
    pid = _project(alice)

    with container.pool.connection() as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute("UPDATE ledger_events_correlation SET correlation_id = 'forged'")
    with container.pool.connection() as conn, pytest.raises(errors.ForeignKeyViolation):
        conn.execute("INSERT INTO ledger_events_correlation VALUES (%s, 999999, 'planted')", (pid,))
    with psycopg.connect(database_url, autocommit=True) as owner:
        owner.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(OWNER_ROLE)))
        with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
            owner.execute("DELETE FROM ledger_events_correlation WHERE project_id = %s", (pid,))
    assert ok(alice.get(f"/v1/projects/{pid}/history"))["events"][0]["correlation_id"]
