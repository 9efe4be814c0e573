"""The views of the event log: one package per view (its tables, its handlers, its queries),
the runner that feeds them a page of events per transaction, and their DDL."""

from __future__ import annotations

from typing import LiteralString

from projections import tracking
from projections.audit import AuditView
from projections.base import View
from projections.projects import ProjectsView
from projections.schedule import ScheduleView


def all_views() -> list[View]:
    """A fresh instance of every view, in the order the runner applies a page to them."""
    return [ScheduleView(), ProjectsView(), AuditView()]


def all_ddl() -> list[LiteralString]:
    """Every statement `milestones db upgrade` runs for the views; each is idempotent."""
    statements = list(tracking.DDL)
    for view in all_views():
        statements.extend(view.ddl)
    return statements
