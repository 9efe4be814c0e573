"""Issue 13's trust findings, tried as the application's database role on a real PostgreSQL.

Finding 4: a snapshot or an as-of index row the role forges changes nothing anyone reads or
decides, before or after a restart, and `verify` names it by position. Finding 6: the role
cannot rewrite access control (roles, revocations, new tokens), and a revocation still takes
effect at once in every process.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.application import project_aggregate
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic
from fastapi.testclient import TestClient
from psycopg import errors, sql
from psycopg.conninfo import make_conninfo

from adapters.memory import FACTORY_TOPIC as MEMORY
from adapters.postgres.database import open_pool
from adapters.postgres.dbroles import APP_ROLE
from adapters.postgres.principals import NotAnAdministratorError, Principals, hash_token
from adapters.postgres.snapshots import SnapshotSigner, snapshot_message
from api.app import create_app
from api.bootstrap import Container, bootstrap, upgrade
from api.settings import Settings
from application.access import GlobalRole, Principal
from application.ledger import Ledger
from cli.main import main
from domain.project import Project
from domain.roles import ProjectRole
from tests.commanding import run_as
from tests.integration.dumps import load_dump
from tests.integration.scratch import scratch_database
from tests.integration.test_migrations import BEFORE_MIGRATIONS, ensure_roles, project_ids

LONG_AGO = "2001-01-01T00:00:00Z"


@dataclass
class Caller:
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Deployment:
    """One deployment on a database of its own: a running process, and more on demand."""

    url: str
    settings: Settings
    container: Container
    client: TestClient

    @property
    def ledger(self) -> Ledger:
        return self.container.ledger

    def caller(self, prefix: str, role: GlobalRole = GlobalRole.MEMBER) -> Caller:
        name = f"{prefix}-{uuid4().hex[:8]}"
        self.container.principals.add(name, role)
        return Caller(name, self.container.principals.create_token(name))

    @contextmanager
    def restarted(self) -> Iterator[TestClient]:
        """Another process of the deployment, started now: nothing of the project is cached."""
        container = bootstrap(self.settings, self.url)
        try:
            with TestClient(create_app(container), raise_server_exceptions=False) as client:
                yield client
        finally:
            container.close()


@pytest.fixture(scope="module")
def deployment(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    key = tmp_path_factory.mktemp("hostile-trust") / "signing-key"
    settings = Settings(pool_size=2, pool_max_overflow=2, signing_key=key)
    with scratch_database(database_url, "ml_hostile_trust") as url:
        upgrade(url, settings)
        container = bootstrap(settings, url)
        try:
            with TestClient(create_app(container), raise_server_exceptions=False) as client:
                yield Deployment(url, settings, container, client)
        finally:
            container.close()


@pytest.fixture
def as_app(deployment: Deployment) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """A session of the application's role: what someone holding it can do."""
    with psycopg.connect(deployment.url, autocommit=True) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(APP_ROLE)))
        yield conn


def new_project(deployment: Deployment, manager: Caller) -> UUID:
    response = deployment.client.post(
        "/v1/projects", json={"name": "Guarded"}, headers=manager.headers
    )
    assert response.status_code == 201, response.text
    return UUID(response.json()["project_id"])


def add_phases(deployment: Deployment, pid: UUID, actor: str, count: int) -> None:
    def act(project: Project) -> None:
        for n in range(count):
            project.add_phase(f"Phase {n}", actor=actor)

    run_as(deployment.ledger, pid, act, actor=actor, needs=ProjectRole.MANAGER)


def forged_snapshot(mapper: Mapper[UUID], project: Project, outsider: str) -> StoredEvent:
    """The project as it is, but with `outsider` for a manager, stored as a snapshot of its
    current version: what the issue's attacker wrote."""
    state = dict(Snapshot.take(project).state)
    state["members"] = {**state["members"], outsider: ProjectRole.MANAGER.value}
    snapshot = Snapshot(
        originator_id=project.id,
        originator_version=project.version,
        timestamp=Snapshot.create_timestamp(),
        topic=get_topic(Project),
        state=state,
    )
    return mapper.to_stored_event(snapshot)


def event_position(deployment: Deployment, pid: UUID, version: int) -> int:
    with psycopg.connect(deployment.url) as conn:
        row = conn.execute(
            "SELECT notification_id FROM ledger_events"
            " WHERE originator_id = %s AND originator_version = %s",
            (pid, version),
        ).fetchone()
    assert row is not None
    return int(row[0])


def derived_findings(
    deployment: Deployment, auditor: Caller, pid: UUID, *, own_checkpoints: bool = True
) -> list[dict[str, Any]]:
    """What `GET /v1/verify` says of the project's derived records, apart from the chain's own
    verdict (`ok`), which holds: the events are intact. (An adopted database's checkpoint was
    signed by another deployment's key: not broken, but untrusted, with that key's id.)"""
    response = deployment.client.get("/v1/verify", headers=auditor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True, body["problem"]
    assert body["signed_by_trusted_keys"] is own_checkpoints, body["signers"]
    return [f for f in body["derived"]["findings"] if f["project_id"] == str(pid)]


# --- finding 4: snapshots ------------------------------------------------------------------


@pytest.mark.parametrize("signature", [None, os.urandom(64)], ids=["unsigned", "bad-signature"])
def test_a_forged_snapshot_makes_no_outsider_a_manager_even_after_a_restart(
    deployment: Deployment, as_app: psycopg.Connection[tuple[Any, ...]], signature: bytes | None
) -> None:
    alice, mallory = deployment.caller("alice"), deployment.caller("mallory")
    pid = new_project(deployment, alice)
    forged = forged_snapshot(deployment.ledger.mapper, deployment.ledger.load(pid), mallory.name)

    as_app.execute(
        "INSERT INTO ledger_snapshots (originator_id, originator_version, topic, state, signature)"
        " VALUES (%s, %s, %s, %s, %s)",
        (pid, forged.originator_version, forged.topic, forged.state, signature),
    )

    with deployment.restarted() as client:
        read = client.get(f"/v1/projects/{pid}", headers=mallory.headers)
        write = client.post(
            f"/v1/projects/{pid}/phases", json={"name": "Mine"}, headers=mallory.headers
        )
        seen = client.get(f"/v1/projects/{pid}", headers=alice.headers)
    assert (read.status_code, write.status_code) == (404, 404)
    assert seen.json()["members"] == [{"principal": alice.name, "role": "manager"}]


def test_only_the_deployments_key_vouches_for_a_snapshot(
    deployment: Deployment, as_app: psycopg.Connection[tuple[Any, ...]]
) -> None:
    """The control: the same forged snapshot, signed with the deployment's key, is believed.
    What keeps a forgery out is the key, which the database role does not hold."""
    alice, mallory = deployment.caller("alice"), deployment.caller("mallory")
    pid = new_project(deployment, alice)
    forged = forged_snapshot(deployment.ledger.mapper, deployment.ledger.load(pid), mallory.name)
    with psycopg.connect(deployment.url) as conn:
        link = conn.execute(
            "SELECT notification_id, chain_hash FROM ledger_events"
            " WHERE originator_id = %s AND originator_version = 1",
            (pid,),
        ).fetchone()
    assert link is not None
    message = snapshot_message(
        pid, 1, link[0], bytes(link[1]), forged.topic, hashlib.sha256(forged.state).digest()
    )
    signature = SnapshotSigner(deployment.settings.signing_key_path).sign(message)

    as_app.execute(
        "INSERT INTO ledger_snapshots (originator_id, originator_version, topic, state, signature)"
        " VALUES (%s, 1, %s, %s, %s)",
        (pid, forged.topic, forged.state, signature),
    )

    with deployment.restarted() as client:
        read = client.get(f"/v1/projects/{pid}", headers=mallory.headers)
    assert read.status_code == 200


def test_verify_names_a_forged_snapshot_by_the_position_of_its_version(
    deployment: Deployment,
    as_app: psycopg.Connection[tuple[Any, ...]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    alice, auditor = deployment.caller("alice"), deployment.caller("auditor", GlobalRole.AUDITOR)
    pid = new_project(deployment, alice)
    forged = forged_snapshot(deployment.ledger.mapper, deployment.ledger.load(pid), "mallory")
    as_app.execute(
        "INSERT INTO ledger_snapshots (originator_id, originator_version, topic, state)"
        " VALUES (%s, %s, %s, %s)",
        (pid, forged.originator_version, forged.topic, forged.state),
    )
    position = event_position(deployment, pid, forged.originator_version)

    findings = derived_findings(deployment, auditor, pid)
    monkeypatch.setenv("DATABASE_URL", deployment.url)
    monkeypatch.setenv("MILESTONES_SIGNING_KEY", str(deployment.settings.signing_key_path))
    exit_code = main(["verify"])

    assert [(f["record"], f["problem"], f["version"], f["position"]) for f in findings] == [
        ("snapshot", "forged", forged.originator_version, position)
    ]
    assert exit_code == 3
    out = capsys.readouterr().out
    assert out.startswith("intact: ")
    assert f"forged snapshot of project {pid} version 1 (position {position})" in out


def test_the_app_role_cannot_write_a_snapshot_of_a_version_no_event_has(
    deployment: Deployment, as_app: psycopg.Connection[tuple[Any, ...]]
) -> None:
    alice = deployment.caller("alice")
    pid = new_project(deployment, alice)
    forged = forged_snapshot(deployment.ledger.mapper, deployment.ledger.load(pid), "mallory")

    # A row waiting at a future version would have been used, or have blocked the real one.
    with pytest.raises(errors.ForeignKeyViolation, match="no event has that version"):
        as_app.execute(
            "INSERT INTO ledger_snapshots (originator_id, originator_version, topic, state)"
            " VALUES (%s, 2, %s, %s)",
            (pid, forged.topic, forged.state),
        )


def test_a_genuine_signature_does_not_vouch_for_a_snapshot_moved_to_another_version(
    deployment: Deployment, as_app: psycopg.Connection[tuple[Any, ...]]
) -> None:
    alice, auditor = deployment.caller("alice"), deployment.caller("auditor", GlobalRole.AUDITOR)
    pid = new_project(deployment, alice)
    add_phases(deployment, pid, alice.name, 104)  # a snapshot at version 100, 105 events
    with psycopg.connect(deployment.url) as conn:
        genuine = conn.execute(
            "SELECT topic, state, signature FROM ledger_snapshots"
            " WHERE originator_id = %s AND originator_version = 100",
            (pid,),
        ).fetchone()
    assert genuine is not None
    assert genuine[2] is not None

    as_app.execute(
        "INSERT INTO ledger_snapshots (originator_id, originator_version, topic, state, signature)"
        " VALUES (%s, 103, %s, %s, %s)",
        (pid, *genuine),
    )

    with deployment.restarted() as client:
        at_103 = client.get(f"/v1/projects/{pid}", headers=alice.headers)
    assert len(at_103.json()["phases"]) == 104
    assert deployment.ledger.repository.get(pid, version=103).version == 103
    assert len(deployment.ledger.repository.get(pid, version=103).phases) == 102
    assert [(f["problem"], f["version"]) for f in derived_findings(deployment, auditor, pid)] == [
        ("forged", 103)
    ]


# --- finding 4: the as-of index ------------------------------------------------------------


def test_the_app_role_cannot_add_an_as_of_row_for_a_version_no_event_has(
    deployment: Deployment, as_app: psycopg.Connection[tuple[Any, ...]]
) -> None:
    alice = deployment.caller("alice")
    pid = new_project(deployment, alice)

    # The row: as_of=2001 answered the project as it is today.
    with pytest.raises(errors.ForeignKeyViolation, match="no event has that version"):
        as_app.execute(
            "INSERT INTO ledger_events_timeline (project_id, version, occurred_at)"
            " VALUES (%s, 999, %s)",
            (pid, LONG_AGO),
        )
    answer = deployment.client.get(
        f"/v1/projects/{pid}", params={"as_of": LONG_AGO}, headers=alice.headers
    )

    assert answer.status_code == 404


def test_the_app_role_cannot_antedate_an_event_in_the_as_of_index(
    deployment: Deployment, as_app: psycopg.Connection[tuple[Any, ...]]
) -> None:
    alice = deployment.caller("alice")
    pid = new_project(deployment, alice)
    add_phases(deployment, pid, alice.name, 1)
    with psycopg.connect(deployment.url) as conn:
        # An event that never got its row (as one written before the index existed).
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "DELETE FROM ledger_events_timeline WHERE project_id = %s AND version = 2", (pid,)
        )

    with pytest.raises(errors.CheckViolation, match="that event was recorded at"):
        as_app.execute(
            "INSERT INTO ledger_events_timeline (project_id, version, occurred_at)"
            " VALUES (%s, 2, %s)",
            (pid, LONG_AGO),
        )


def test_as_of_rows_planted_past_the_database_checks_change_no_answer_and_are_named(
    deployment: Deployment,
) -> None:
    alice, auditor = deployment.caller("alice"), deployment.caller("auditor", GlobalRole.AUDITOR)
    pid = new_project(deployment, alice)
    add_phases(deployment, pid, alice.name, 2)
    created = datetime.now(UTC) - timedelta(seconds=30)
    with psycopg.connect(deployment.url, autocommit=True) as conn:
        # What the owner can do with the triggers set aside, or a row from before them.
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "INSERT INTO ledger_events_timeline (project_id, version, occurred_at, confirmed)"
            " VALUES (%s, 999, %s, true), (%s, 998, %s, false)",
            (pid, LONG_AGO, pid, created),
        )

    long_ago = deployment.client.get(
        f"/v1/projects/{pid}", params={"as_of": LONG_AGO}, headers=alice.headers
    )
    before = deployment.client.get(
        f"/v1/projects/{pid}", params={"as_of": created.isoformat()}, headers=alice.headers
    )
    now = deployment.client.get(
        f"/v1/projects/{pid}",
        params={"as_of": datetime.now(UTC).isoformat()},
        headers=alice.headers,
    )

    assert long_ago.status_code == 404
    assert before.status_code == 404
    assert (now.status_code, now.json()["version"]) == (200, 3)
    # The unconfirmed one is named; the confirmed one the owner planted is only refused use.
    assert [
        (f["record"], f["problem"], f["version"], f["position"])
        for f in derived_findings(deployment, auditor, pid)
    ] == [("as_of", "orphaned", 998, None)]


def test_verify_names_an_unconfirmed_as_of_row_that_antedates_its_event(
    deployment: Deployment,
) -> None:
    alice, auditor = deployment.caller("alice"), deployment.caller("auditor", GlobalRole.AUDITOR)
    pid = new_project(deployment, alice)
    add_phases(deployment, pid, alice.name, 1)
    with psycopg.connect(deployment.url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "DELETE FROM ledger_events_timeline WHERE project_id = %s AND version = 2", (pid,)
        )
        conn.execute(
            "INSERT INTO ledger_events_timeline (project_id, version, occurred_at)"
            " VALUES (%s, 2, %s)",
            (pid, LONG_AGO),
        )

    answer = deployment.client.get(
        f"/v1/projects/{pid}", params={"as_of": LONG_AGO}, headers=alice.headers
    )
    findings = derived_findings(deployment, auditor, pid)

    assert answer.status_code == 404
    assert [(f["problem"], f["version"], f["position"]) for f in findings] == [
        ("forged", 2, event_position(deployment, pid, 2))
    ]


# --- finding 4: a database forged before its upgrade --------------------------------------


def test_rows_forged_before_the_upgrade_are_never_used_and_are_named(
    database_url: str, tmp_path: Path
) -> None:
    """The issue's two INSERTs, into a database made by the code before migrations, which
    `milestones db upgrade` then adopts."""
    ensure_roles(database_url)
    settings = Settings(pool_size=2, pool_max_overflow=2, signing_key=tmp_path / "key")
    with scratch_database(database_url, "ml_forged_before") as url:
        load_dump(url, BEFORE_MIGRATIONS)
        [pid] = project_ids(url)
        mapper = Ledger(env={"PERSISTENCE_MODULE": MEMORY}).mapper
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT originator_id, originator_version, topic, state FROM ledger_events"
                " WHERE originator_id = %s ORDER BY originator_version",
                (pid,),
            ).fetchall()
            events = [
                mapper.to_domain_event(StoredEvent(r[0], r[1], r[2], bytes(r[3]))) for r in rows
            ]
            project: Project | None = project_aggregate(None, events)
            assert project is not None
            forged = forged_snapshot(mapper, project, "mallory")
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(APP_ROLE)))
            # The snapshot at the project's version, and one at a version it never had.
            for version in (forged.originator_version, 500):
                conn.execute(
                    "INSERT INTO ledger_snapshots (originator_id, originator_version, topic, state)"
                    " VALUES (%s, %s, %s, %s)",
                    (pid, version, forged.topic, forged.state),
                )
            conn.execute(
                "INSERT INTO ledger_events_timeline (project_id, version, occurred_at)"
                " VALUES (%s, 999, %s)",
                (pid, LONG_AGO),
            )

        upgrade(url, settings)
        container = bootstrap(settings, url)
        try:
            with TestClient(create_app(container), raise_server_exceptions=False) as client:
                deployment = Deployment(url, settings, container, client)
                mallory = deployment.caller("mallory")
                auditor = deployment.caller("auditor", GlobalRole.AUDITOR)
                read = client.get(f"/v1/projects/{pid}", headers=mallory.headers)
                long_ago = client.get(
                    f"/v1/projects/{pid}", params={"as_of": LONG_AGO}, headers=auditor.headers
                )
                findings = derived_findings(deployment, auditor, pid, own_checkpoints=False)
        finally:
            container.close()

    assert read.status_code == 404
    assert long_ago.status_code == 404
    assert [(f["record"], f["problem"], f["version"]) for f in findings] == [
        ("snapshot", "forged", project.version),
        ("snapshot", "orphaned", 500),  # by position, then those without one by version
        ("as_of", "orphaned", 999),
    ]
    assert findings[0]["position"] is not None
    assert [f["position"] for f in findings[1:]] == [None, None]


# --- finding 6: access control -------------------------------------------------------------


def test_the_app_role_cannot_make_a_principal_an_admin(
    deployment: Deployment, as_app: psycopg.Connection[tuple[Any, ...]]
) -> None:
    mallory = deployment.caller("mallory")

    with pytest.raises(errors.InsufficientPrivilege):
        as_app.execute("UPDATE principals SET role = 'admin' WHERE name = %s", (mallory.name,))

    assert deployment.container.principals.get(mallory.name) == Principal(mallory.name)


def test_the_app_role_cannot_take_a_revocation_back(
    deployment: Deployment, as_app: psycopg.Connection[tuple[Any, ...]]
) -> None:
    mallory = deployment.caller("mallory")
    assert deployment.container.principals.revoke_token(mallory.token)

    for statement in (
        "DELETE FROM token_revocations WHERE token_hash = %s",
        "UPDATE token_revocations SET token_hash = token_hash WHERE token_hash = %s",
        "UPDATE tokens SET revoked_at = NULL WHERE token_hash = %s",
    ):
        with pytest.raises(errors.InsufficientPrivilege):
            as_app.execute(statement, (hash_token(mallory.token),))
    with pytest.raises(errors.InsufficientPrivilege):
        as_app.execute("TRUNCATE token_revocations")

    assert deployment.container.principals.authenticate(mallory.token) is None


def test_the_owner_cannot_take_a_revocation_back_either(deployment: Deployment) -> None:
    mallory = deployment.caller("mallory")
    deployment.container.principals.revoke_token(mallory.token)

    with (
        psycopg.connect(deployment.url, autocommit=True) as conn,
        pytest.raises(errors.InsufficientPrivilege, match="append-only"),
    ):
        conn.execute(
            "DELETE FROM token_revocations WHERE token_hash = %s", (hash_token(mallory.token),)
        )


def test_the_app_role_cannot_mint_a_principal_or_a_token(
    deployment: Deployment, as_app: psycopg.Connection[tuple[Any, ...]]
) -> None:
    admin = deployment.caller("admin", GlobalRole.ADMIN)

    with pytest.raises(errors.InsufficientPrivilege):
        as_app.execute(
            "INSERT INTO tokens (token_hash, principal) VALUES (%s, %s)",
            (hash_token("ml_minted"), admin.name),
        )
    with pytest.raises(errors.InsufficientPrivilege):
        as_app.execute("INSERT INTO principals (name, role) VALUES ('mallory-x', 'admin')")

    assert deployment.container.principals.authenticate("ml_minted") is None


def test_the_app_role_cannot_shadow_access_control_with_a_schema_of_its_own_name(
    deployment: Deployment, as_app: psycopg.Connection[tuple[Any, ...]]
) -> None:
    # Its sessions search "$user" first: a milestones_app.tokens would let anyone in as anyone.
    with pytest.raises(errors.DuplicateSchema):
        as_app.execute("CREATE SCHEMA milestones_app")
    with pytest.raises(errors.InsufficientPrivilege):
        as_app.execute("CREATE TABLE milestones_app.tokens (token_hash text, principal text)")

    found = as_app.execute("SELECT to_regclass('tokens')::text").fetchone()
    assert found == ("tokens",)  # public.tokens, as search_path shows it


def test_a_revocation_takes_effect_at_once_in_another_process(deployment: Deployment) -> None:
    alice = deployment.caller("alice")
    with deployment.restarted() as other:
        assert other.get("/v1/projects", headers=alice.headers).status_code == 200

        assert deployment.container.principals.revoke_token(alice.token)

        assert other.get("/v1/projects", headers=alice.headers).status_code == 401
    assert deployment.client.get("/v1/projects", headers=alice.headers).status_code == 401


def test_principals_and_tokens_need_a_login_that_may_act_as_the_owner(
    deployment: Deployment,
) -> None:
    login = f"ml_app_login_{uuid4().hex[:8]}"
    with psycopg.connect(deployment.url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(login)))
        conn.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(APP_ROLE), sql.Identifier(login))
        )
    try:
        app_only = make_conninfo(deployment.url, user=login, options=f"-c role={APP_ROLE}")
        with open_pool(app_only, deployment.settings) as pool:
            principals = Principals(pool)
            with pytest.raises(NotAnAdministratorError, match="MILESTONES_OWNER_URL"):
                principals.add("mallory")
            with pytest.raises(NotAnAdministratorError):
                principals.create_token(deployment.caller("admin", GlobalRole.ADMIN).name)
    finally:
        with psycopg.connect(deployment.url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))


def test_a_principal_is_created_as_the_owner_on_a_pooled_connection_left_in_autocommit(
    deployment: Deployment,
) -> None:
    # The views' reads leave pooled connections in autocommit, where SET LOCAL would do nothing.
    settings = Settings(pool_size=1, pool_max_overflow=0)
    with open_pool(deployment.container.database_url, settings) as pool:
        with pool.connection() as conn:
            conn.autocommit = True
        principals = Principals(pool)
        name = f"carol-{uuid4().hex[:8]}"

        principals.add(name)
        token = principals.create_token(name)

        assert principals.authenticate(token) == Principal(name)


@pytest.mark.parametrize(
    ("table", "allowed"),
    [
        ("principals", {"SELECT"}),
        ("tokens", {"SELECT"}),
        ("token_revocations", {"SELECT", "INSERT"}),
    ],
)
def test_the_app_role_may_only_read_access_control_and_append_revocations(
    deployment: Deployment, table: str, allowed: set[str]
) -> None:
    with psycopg.connect(deployment.url) as conn:
        granted = {
            privilege
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES")
            if conn.execute(
                "SELECT has_table_privilege(%s, %s, %s)", (APP_ROLE, f"public.{table}", privilege)
            ).fetchone()
            == (True,)
        }

    assert granted == allowed
