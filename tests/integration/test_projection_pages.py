"""The views write a page set-based: the rows must not depend on how the log is cut into pages.

Every event class goes through every view four times, each time into a schema of its own
(the views use unqualified table names): one event per page (the live tail), pages of 7
(rows folded within a page and carried across pages), and one page for the whole history,
written once with COPY (as a catch-up writes) and once in pipeline mode (as the live tail
writes). All must hold exactly the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import ConnectionPool

from application.access import Principal
from application.ledger import Ledger
from domain.entities import DeliverableKind, GateDecisionKind
from domain.events import ProjectEvent
from domain.project import Project
from domain.roles import ProjectRole
from projections import all_ddl, all_views, tracking
from projections.runner import ProjectionRunner
from tests.commanding import run_as

Pool = ConnectionPool[psycopg.Connection[Any]]


@pytest.fixture
def schemas(database_url: str) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    with psycopg.connect(database_url, autocommit=True) as conn:
        for schema in made:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _apply_in_schema(
    ledger: Ledger,
    database_url: str,
    schemas: list[str],
    start: int,
    page_size: int,
    *,
    pipelined: bool = True,
) -> dict[str, list[str]]:
    """Apply the log after `start` to fresh views in a schema of their own; their rows.

    With `pipelined` every page is written in pipeline mode (INSERTs), else none is (COPY).
    """
    schema = f"pages_{page_size}_{uuid4().hex[:8]}"
    schemas.append(schema)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    options = {"options": f"-c search_path={schema}"}
    views = all_views()
    with Pool(database_url, kwargs=options, min_size=1, max_size=2) as pool:
        with pool.connection() as conn, conn.cursor() as cur:
            for statement in all_ddl():
                cur.execute(statement)
            for view in views:
                tracking.write_position(cur, view.name, start)
        runner = ProjectionRunner(
            ledger,
            pool,
            views,
            page_size=page_size,
            pipeline_page_max=page_size if pipelined else 0,
        )
        runner.catch_up()
        head = runner.head()
        assert set(runner.positions().values()) == {head}
        rows: dict[str, list[str]] = {}
        with pool.connection() as conn:
            for view in views:
                for table in view.tables:
                    found = conn.execute(
                        sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))
                    ).fetchall()
                    rows[table] = sorted(repr(row) for row in found)
    return rows


def _every_event(ledger: Ledger) -> None:
    """Two projects, saved in turns, whose histories hold every event class."""
    manager, reviewer = f"manager-{uuid4().hex[:6]}", f"reviewer-{uuid4().hex[:6]}"
    first = ledger.create_project(Principal(manager), name="Pages 100% folded").project_id
    second = ledger.create_project(
        Principal(manager),
        name="Second",
        description="d",
        timezone="Europe/Paris",
        risk_window_days=3,
    ).project_id
    ids: dict[str, UUID] = {}

    def step(project_id: UUID, act: Any) -> None:
        def run(project: Project) -> None:
            act(project)

        run_as(ledger, project_id, run, actor=manager, needs=ProjectRole.MANAGER)

    def members(project: Project) -> None:
        project.set_member(reviewer, ProjectRole.REVIEWER, actor=manager)
        project.set_member("guest", ProjectRole.VIEWER, actor=manager)
        project.set_member("guest", ProjectRole.CONTRIBUTOR, actor=manager)
        project.remove_member("guest", actor=manager)
        project.set_member("guest", ProjectRole.VIEWER, actor=manager)
        project.set_member("leaver", ProjectRole.VIEWER, actor=manager)
        project.set_group("QA", [reviewer], actor=manager)  # R26

    def plan(project: Project) -> None:
        ids["build"] = project.add_phase("Build", actor=manager)
        ids["ship"] = project.add_phase("Ship", actor=manager)
        ids["report"] = project.define_deliverable(
            title="Report", phase_id=ids["build"], owner="olga", actor=manager
        )
        ids["spec"] = project.define_deliverable(
            title="Spec 50%", phase_id=ids["build"], kind=DeliverableKind.DOCUMENT, actor=manager
        )
        ids["c1"] = project.add_criterion(ids["report"], "complete", actor=manager)
        ids["c2"] = project.add_criterion(ids["report"], "reviewed %s", actor=manager)

    def work(project: Project) -> None:
        project.record_evidence(ids["report"], ids["c1"], "https://e/1", actor=manager)
        project.record_evidence(ids["report"], ids["c1"], "https://e/1b", actor=manager)
        project.update_deliverable(
            ids["report"],
            title="Final report",
            description="longer",
            owner=None,
            phase_id=ids["ship"],
            kind=DeliverableKind.DOCUMENT,
            actor=manager,
        )
        project.record_evidence(ids["report"], ids["c2"], "https://e/2", actor=manager)
        project.submit(ids["report"], actor=manager)

    def review(project: Project) -> None:
        project.reject(ids["report"], "missing  %  section\nplease", actor=reviewer)
        project.submit(ids["report"], actor=manager)
        project.approve(ids["report"], actor=reviewer)
        project.reopen_deliverable(ids["report"], "again", actor=manager)
        project.set_required_approvals(ids["report"], 2, ["QA"], actor=manager)  # R21, R26
        project.submit(ids["report"], actor=manager)
        project.approve(ids["report"], actor=reviewer)
        project.approve(ids["report"], actor="olga")

    def milestones(project: Project) -> None:
        ids["gate"] = project.define_milestone(
            name="Gate",
            phase_id=ids["build"],
            due=date(2030, 6, 1),
            deliverable_ids=[],
            actor=manager,
        )
        project.link(ids["gate"], ids["spec"], actor=manager)
        project.link(ids["gate"], ids["report"], actor=manager)
        project.unlink(ids["gate"], ids["spec"], actor=manager)
        project.link(ids["gate"], ids["spec"], actor=manager)
        ids["launch"] = project.define_milestone(
            name="Launch",
            phase_id=ids["ship"],
            due=date(2030, 7, 1),
            deliverable_ids=[ids["report"]],
            actor=manager,
        )
        project.reschedule(ids["launch"], date(2030, 7, 8), "late", actor=manager)
        project.add_dependency(ids["launch"], ids["gate"], 2, actor=manager)
        project.add_dependency(ids["launch"], ids["gate"], 4, actor=manager)
        project.remove_dependency(ids["launch"], ids["gate"], actor=manager)
        project.add_dependency(ids["launch"], ids["gate"], 1, actor=manager)
        project.rebaseline("new plan", actor=manager)
        project.remove_dependency(ids["launch"], ids["gate"], actor=manager)
        project.achieve(ids["launch"], actor=manager)

    def endings(project: Project) -> None:
        project.reopen_milestone(ids["launch"], "not quite", actor=manager)
        project.achieve(ids["launch"], actor=manager)
        project.cancel_deliverable(ids["spec"], "dropped", actor=manager)
        project.unlink(ids["gate"], ids["spec"], actor=manager)
        project.cancel_milestone(ids["gate"], "no gate", actor=manager)
        project.remove_member("leaver", actor=manager)

    def other(project: Project) -> None:
        phase = project.add_phase("Only", actor=manager)
        deliverable = project.define_deliverable(title="Other", phase_id=phase, actor=manager)
        project.add_criterion(deliverable, "x", actor=manager)
        later = project.define_milestone(
            name="Later",
            phase_id=phase,
            due=date(2031, 1, 1),
            deliverable_ids=[deliverable],
            actor=manager,
        )
        last = project.define_milestone(
            name="Last", phase_id=phase, due=date(2031, 2, 1), deliverable_ids=[], actor=manager
        )
        project.add_dependency(last, later, 3, actor=manager)  # a row the views keep

    def gates(project: Project) -> None:  # R24, R25
        order = [p.id for p in project.phases_in_order()]
        project.reorder_phases(list(reversed(order)), actor=manager)
        project.add_phase("After the reorder", actor=manager)
        gated = order[0]
        project.set_exit_gate(gated, True, actor=manager)
        project.decide_gate(
            gated, GateDecisionKind.CONDITIONAL, [manager], "review 100%", ["c1"], actor=manager
        )
        decision = project.phase(gated).decision
        assert decision is not None
        [condition] = decision.conditions.values()
        project.close_gate_condition(gated, condition.id, "done", actor=manager)

    step(first, members)
    step(second, other)
    step(first, plan)
    step(first, work)
    step(second, lambda p: p.add_phase("Second phase", actor=manager))
    step(second, gates)
    step(first, review)
    step(first, milestones)
    step(first, endings)
    step(second, lambda p: p.rebaseline("second plan", actor=manager))


def _event_classes() -> list[str]:
    """Every concrete project event class (the leaves of the hierarchy)."""
    found, todo = [], [ProjectEvent]
    while todo:
        cls = todo.pop()
        subclasses = cls.__subclasses__()
        todo.extend(subclasses)
        if not subclasses:
            found.append(cls.__name__)
    return found


def test_the_views_hold_the_same_rows_whatever_the_page_size(
    ledger: Ledger, database_url: str, schemas: list[str]
) -> None:
    start = ledger.recorder.max_notification_id() or 0
    _every_event(ledger)
    one = _apply_in_schema(ledger, database_url, schemas, start, 1)
    seven = _apply_in_schema(ledger, database_url, schemas, start, 7)
    whole = _apply_in_schema(ledger, database_url, schemas, start, 10_000, pipelined=False)
    piped = _apply_in_schema(ledger, database_url, schemas, start, 10_000, pipelined=True)

    shown = "\n".join(one["audit_trail"])
    assert [name for name in _event_classes() if f"'{name}'" not in shown] == []
    assert seven == one
    assert whole == one
    assert piped == one
