"""Rebuilding a view into shadow tables while the service keeps answering from the live ones."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import ConnectionPool

from adapters.postgres.database import session_settings
from api.bootstrap import Container, rebuild_helper
from application.access import Principal
from application.ports import share_of
from domain.project import Project
from domain.roles import ProjectRole
from projections import all_views, claims
from projections.base import View
from projections.projects import ProjectsView, list_projects
from projections.rebuild import INDEX_SESSION_NAME, Rebuild, RebuildError
from projections.schedule import ScheduleView, get_schedule
from projections.shares import Filler
from projections.tracking import read_positions
from tests.commanding import run_as
from tests.integration.conftest import Users
from tests.integration.processes import wait_until
from tests.integration.scripted import ok

NOW = datetime(2030, 1, 15, tzinfo=UTC)
READER = "rebuild-reader"  # reads every project (read_all), a member of none


def _contents(conn: psycopg.Connection[Any], view: View) -> dict[str, list[str]]:
    """Every row of every table of the view, order-independent."""
    tables = {}
    for table in view.tables:
        rows = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))).fetchall()
        tables[table] = sorted(repr(row) for row in rows)
    return tables


def _oid(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute("SELECT %s::regclass::oid", (table,)).fetchone()
    assert row is not None
    return int(row[0])


def _project_with_a_schedule(users: Users) -> UUID:
    alice = users("alice")
    pid = ok(alice.post("/v1/projects", {"name": "Rebuilt while read"}))["project_id"]
    phase = ok(alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"}))["phase_id"]
    last = ok(
        alice.post(
            f"/v1/projects/{pid}/milestones",
            {"name": "Ship", "phase_id": phase, "due": "2030-02-01", "deliverable_ids": []},
        )
    )
    ok(alice.get(f"/v1/projects/{pid}/schedule", params={"min_position": last["position"]}))
    ok(alice.get("/v1/projects", params={"min_position": last["position"]}))
    return UUID(pid)


def _busy_project(container: Container) -> None:
    """A project of 100 events, so that a rebuild takes many pages even on a fresh database."""
    manager = "rebuild-manager"
    created = container.ledger.create_project(Principal(manager), name="Busy")
    for batch in range(4):

        def add_phases(project: Project, batch: int = batch) -> None:
            for n in range(25):
                project.add_phase(f"Phase {batch}.{n}", actor=manager)

        run_as(
            container.ledger,
            created.project_id,
            add_phases,
            actor=manager,
            needs=ProjectRole.MANAGER,
        )
    head = container.runner.head()
    assert container.runner.wait_for(head, timeout=10)


def test_every_view_rebuilds_to_the_same_tables(container: Container, users: Users) -> None:
    _project_with_a_schedule(users)
    container.runner.catch_up()
    for view in all_views():
        with container.pool.connection() as conn:
            before = _contents(conn, view)
        container.runner.rebuild(view.name)
        with container.pool.connection() as conn:
            assert _contents(conn, view) == before, view.name


_INDEXES = """
    SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid)
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND t.relname = ANY(%s)
    ORDER BY 1, 2
"""


def test_a_rebuild_of_every_view_at_once_leaves_each_table_its_indexes(
    container: Container, users: Users
) -> None:
    # The indexes are built side by side after the fill (projections.rebuild): each one, with
    # its definition (partial, GIN, columns), is on the live tables after the swaps.
    _project_with_a_schedule(users)
    tables = [table for view in all_views() for table in view.tables]
    with container.pool.connection() as conn:
        before = conn.execute(_INDEXES, (tables,)).fetchall()
    Rebuild(container.ledger, container.pool, all_views()).run()
    with container.pool.connection() as conn:
        after = conn.execute(_INDEXES, (tables,)).fetchall()

    assert after == before
    assert any("USING gin" in definition for _, _, definition in after)
    assert any("WHERE" in definition for _, _, definition in after)


class _SlowIndexProjectsView(ProjectsView):
    """The projects view with one index that takes ~0.1 s a row (each row counted in a
    sequence, so a test sees how far it got) and one that fails at once."""

    ddl = (
        *ProjectsView.ddl,
        "CREATE SEQUENCE slow_index_rows",
        "CREATE FUNCTION slow_key(text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM pg_catalog.nextval('slow_index_rows'); PERFORM pg_catalog.pg_sleep(0.1); "
        "RETURN $1; END $$",
        "CREATE INDEX slow_index ON projects (slow_key(name))",
        "CREATE INDEX failing_index ON no_such_table (x)",
    )


def test_an_index_build_that_fails_cancels_the_others_on_the_server(
    container: Container,
) -> None:
    # The indexes are built side by side after the fill: the first that fails ends the
    # others' builds at once (a rebuild that fails, or is stopped, does not wait for the
    # longest build, the audit trail's at ten million events).
    for n in range(20):
        container.ledger.create_project(Principal("rebuild-manager"), name=f"Indexed {n}")
    container.runner.catch_up()
    with container.pool.connection() as conn:
        row = conn.execute("SELECT count(*) FROM projects").fetchone()
    assert row is not None
    rows = int(row[0])

    with pytest.raises(psycopg.errors.UndefinedTable):
        Rebuild(container.ledger, container.pool, _SlowIndexProjectsView()).run()
    with container.pool.connection() as conn:
        done = conn.execute("SELECT last_value FROM rebuild_projects.slow_index_rows").fetchone()

    assert done is not None
    assert done[0] < rows  # cut short, not built to the end
    # And no build goes on (a cancelled session's backend may take a moment to end).
    wait_until(partial(_index_builds_running, container, 0), 10, "the index builds to end")
    with container.pool.connection() as conn:  # the live table is untouched
        names = conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'projects'")
        assert "slow_index" not in {name for (name,) in names.fetchall()}


def _index_builds_running(container: Container, expected: int) -> bool:
    with container.pool.connection() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
            " AND datname = current_database() AND state = 'active'",
            (INDEX_SESSION_NAME,),
        ).fetchone()
    return row is not None and row[0] == expected


def test_a_rebuild_leaves_the_garbage_collector_as_it_found_it(
    container: Container, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rebuild collects by page with the automatic collector off (docs/performance.md); the
    # process it runs in must get its collector back as it was, on or off.
    _project_with_a_schedule(users)
    container.runner.catch_up()
    assert gc.isenabled()
    container.runner.rebuild_all()
    assert gc.isenabled()
    gc.disable()
    try:
        container.runner.rebuild("audit")
        assert not gc.isenabled()
    finally:
        gc.enable()
    failing = Rebuild(container.ledger, container.pool, all_views(), page_size=10)
    # A page that fails (here: a shadow table gone) still switches it back on.
    monkeypatch.setattr(failing, "_shadow_page", _raise)
    with pytest.raises(RuntimeError, match="page failed"):
        failing.run()
    assert gc.isenabled()


def _raise(*args: Any) -> None:
    raise RuntimeError("page failed")


def test_a_rebuild_under_concurrent_reads_never_answers_from_a_half_built_table(
    container: Container, users: Users, database_url: str
) -> None:
    project_id = _project_with_a_schedule(users)
    _busy_project(container)
    with container.pool.connection() as conn:
        expected = (list_projects(conn, READER, True), get_schedule(conn, project_id, NOW))
        old_tables = {t: _oid(conn, t) for t in ("projects", "schedule_milestones")}
    wrong: list[Any] = []
    reads = 0

    def read_and_check(conn: psycopg.Connection[Any]) -> None:
        nonlocal reads
        answer = (list_projects(conn, READER, True), get_schedule(conn, project_id, NOW))
        reads += 1
        if answer != expected:
            wrong.append(answer)

    stop = threading.Event()

    def reader() -> None:
        with psycopg.connect(database_url) as conn:
            while not stop.is_set():
                read_and_check(conn)

    pages = 0
    # Some fifty pages whatever the length of the session's log (ten events a page on a fresh
    # database): every page is a commit of the shadow with reads before the next, and the
    # reads of every project cost more as the tests before this one wrote more of them.
    page_size = max(10, container.runner.head() // 50)
    between = psycopg.connect(database_url, autocommit=True)

    def between_pages(position: int, head: int) -> None:
        # The shadow tables hold part of the log now: queries must not see them.
        nonlocal pages
        pages += 1
        read_and_check(between)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for view in (ProjectsView(), ScheduleView()):
            Rebuild(
                container.ledger, container.pool, view, page_size=page_size, progress=between_pages
            ).run()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        between.close()

    with container.pool.connection() as conn:
        new_tables = {t: _oid(conn, t) for t in old_tables}
    assert all(new_tables[t] != old_tables[t] for t in old_tables)  # really swapped in
    assert pages > 4  # the shadow was built over several commits
    assert reads > pages  # and read from meanwhile, many times
    assert wrong == []


def test_events_written_during_a_rebuild_are_in_the_rebuilt_view(
    container: Container, users: Users
) -> None:
    _project_with_a_schedule(users)
    writer = f"writer-{uuid4().hex[:8]}"
    written: list[int] = []

    def write_once(position: int, head: int) -> None:
        if not written:
            created = container.ledger.create_project(Principal(writer), name="Written mid-rebuild")
            written.append(created.position or 0)

    Rebuild(
        container.ledger, container.pool, ProjectsView(), page_size=50, progress=write_once
    ).run()

    assert container.runner.wait_for(written[0], timeout=5, views=["projects"])
    with container.pool.connection() as conn:
        names = [p["name"] for p in list_projects(conn, writer, False)]
    assert names == ["Written mid-rebuild"]


def test_a_second_rebuild_of_the_same_view_is_refused_while_one_runs(
    container: Container,
) -> None:
    with container.pool.connection() as conn:
        conn.autocommit = True
        assert claims.try_lock_rebuild(conn, "projects")
        try:
            with pytest.raises(RebuildError, match="already running"):
                Rebuild(container.ledger, container.pool, ProjectsView()).run()
        finally:
            claims.unlock_rebuild(conn, "projects")
            conn.autocommit = False


def test_a_rebuild_by_another_login_keeps_the_tables_owner(
    container: Container, database_url: str
) -> None:
    def owner(conn: psycopg.Connection[Any]) -> str:
        row = conn.execute(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'projects'::regclass"
        ).fetchone()
        assert row is not None
        return str(row[0])

    with container.pool.connection() as conn:
        before = owner(conn)
    # The test login (not the service's role): what an operator with an admin login might run.
    with ConnectionPool[psycopg.Connection[Any]](database_url, min_size=1, max_size=2) as pool:
        Rebuild(container.ledger, pool, ProjectsView()).run()
        with pool.connection() as conn:
            after = owner(conn)

    written = container.ledger.create_project(Principal(f"owner-{uuid4().hex[:8]}"), name="After")
    assert after == before
    # The service's role can still write the view (the runner applies the new event).
    assert container.runner.wait_for(written.position or 0, timeout=5, views=["projects"])


def _projects_in_both_shares(container: Container) -> None:
    """Projects until each of two shares (`application.ports.share_of`) holds one or more."""
    manager = f"shares-{uuid4().hex[:8]}"
    shares: set[int] = set()
    while len(shares) < 2:
        created = container.ledger.create_project(Principal(manager), name=f"Share {len(shares)}")
        shares.add(share_of(created.project_id, 2))
    container.runner.catch_up()


def test_a_rebuild_in_two_processes_builds_the_same_tables(
    container: Container, users: Users, upgraded_database: str
) -> None:
    _project_with_a_schedule(users)
    _busy_project(container)
    _projects_in_both_shares(container)
    with container.pool.connection() as conn:
        before = {view.name: _contents(conn, view) for view in all_views()}
    helper = partial(rebuild_helper, container.settings, upgraded_database)
    head = container.runner.head()

    read = Rebuild(
        container.ledger, container.pool, all_views(), page_size=10, shares=2, open_filler=helper
    ).run()

    with container.pool.connection() as conn:
        after = {view.name: _contents(conn, view) for view in all_views()}
        positions = read_positions(conn, [view.name for view in all_views()])
    # `read` counts notifications, which are fewer than the head's position where a rolled-back
    # save left a gap in the positions (as earlier tests in the same database do).
    assert read > 0
    assert min(positions.values()) >= head  # every view rebuilt through the head it began at
    assert after == before


def _failing_helper() -> AbstractContextManager[Filler]:
    raise RuntimeError("this helper cannot reach the database")


def test_a_helper_process_that_fails_fails_the_rebuild_and_keeps_the_live_tables(
    container: Container, users: Users
) -> None:
    _project_with_a_schedule(users)
    with container.pool.connection() as conn:
        before, oid = _contents(conn, ProjectsView()), _oid(conn, "projects")

    with pytest.raises(RebuildError, match="cannot reach the database"):
        Rebuild(
            container.ledger, container.pool, ProjectsView(), shares=2, open_filler=_failing_helper
        ).run()

    with container.pool.connection() as conn:
        assert (_contents(conn, ProjectsView()), _oid(conn, "projects")) == (before, oid)
    # Not left locked: the next rebuild runs.
    Rebuild(container.ledger, container.pool, ProjectsView()).run()


class _PensiveProjectsView(ProjectsView):
    """Thinks, between two statements of a page, for longer than its pool lets a transaction
    idle (as a page's fold does on a busy machine)."""

    def process_page(self, cur: psycopg.Cursor[Any], events: Sequence[Any]) -> None:
        cur.execute("SELECT 1")
        time.sleep(1.5)
        super().process_page(cur, events)


def test_a_rebuild_page_may_take_longer_than_the_pools_idle_in_transaction_timeout(
    container: Container, users: Users
) -> None:
    _project_with_a_schedule(users)
    with container.pool.connection() as conn:
        before = _contents(conn, ProjectsView())
    one_second = session_settings(1)  # the service's readers get 5 s by default

    with ConnectionPool[psycopg.Connection[Any]](
        container.database_url, min_size=1, max_size=2, configure=one_second
    ) as pool:
        Rebuild(container.ledger, pool, _PensiveProjectsView()).run()

    with container.pool.connection() as conn:
        assert _contents(conn, ProjectsView()) == before


def test_the_shares_of_the_log_hold_each_event_once_and_each_project_in_one_share(
    container: Container,
) -> None:
    _projects_in_both_shares(container)
    store, head = container.ledger.store, container.runner.head()

    shares = [store.read_share(0, head, head, share, 2) for share in range(2)]

    ids = sorted(n.id for share in shares for n in share)
    assert ids == [n.id for n in store.read_page(0, head)]
    for share, notifications in enumerate(shares):
        assert {share_of(UUID(str(n.originator_id)), 2) for n in notifications} == {share}
