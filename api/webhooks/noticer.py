"""Raises R20's notices (`domain.notices`) on a timer, where the views run.

Every `interval` seconds: the schedule view shortlists the projects with an open milestone due
within their risk window (or overdue and not yet noticed); each is loaded from the store (the
event-sourced state decides, never the view) and the notices true on its today are kept, once
per milestone, due date and kind (`milestone_notices`, migration 0021). Subscribers get them
from the deliverer, event streams from `NoticeTail`. Several workers may raise at once: a
notice raised twice is kept once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from psycopg_pool import ConnectionPool

from adapters.postgres.webhooks import PostgresWebhooks
from api.periodic import Periodic
from api.schemas.webhooks import NoticeData, NoticePublic
from application.ledger import Ledger
from application.webhooks import RaisedNotice
from domain.errors import ProjectNotFoundError
from domain.notices import Notice, notices
from domain.rules import today_in
from projections.schedule.queries import projects_with_notices_to_check

log = logging.getLogger(__name__)


def notice_json(raised: RaisedNotice) -> str:
    """A notice as webhooks and event streams carry it."""
    n = raised.notice
    return NoticePublic(
        notice_id=raised.id,
        project_id=n.project_id,
        type=n.kind,
        occurred_at=raised.noticed_at,
        data=NoticeData(
            milestone_id=n.milestone_id,
            name=n.milestone_name,
            due=n.due,
            today=n.today,
            risk_window_days=n.risk_window_days,
        ),
    ).model_dump_json()


class Noticer(Periodic):
    """Raises the notices true now, at start and every `interval` seconds (0: never)."""

    def __init__(
        self,
        ledger: Ledger,
        pool: ConnectionPool[Any],
        store: PostgresWebhooks,
        clock: Callable[[], datetime],
        interval: float,
    ) -> None:
        super().__init__("noticer", interval, self.raise_now, at_start=True)
        self._ledger = ledger
        self._pool = pool
        self._store = store
        self._clock = clock
        # Told when new notices were raised (the deliverer of this process wakes its threads).
        self.on_raised: Callable[[], None] | None = None

    def raise_now(self) -> int:
        """One look now; how many notices were new (0 after a failure, logged)."""
        try:
            now = self._clock()
            with self._pool.connection() as conn:
                project_ids = projects_with_notices_to_check(conn, now.astimezone(UTC).date())
            found: list[Notice] = []
            for project_id in project_ids:
                try:
                    project = self._ledger.load(project_id)
                except ProjectNotFoundError:
                    continue
                found += notices(project, today_in(project.timezone, now))
            raised = self._store.raise_notices(found)
        except Exception:
            log.warning("raising milestone notices failed; trying again later", exc_info=True)
            return 0
        if raised:
            log.info("raised %d milestone notice(s)", raised)
            if self.on_raised is not None:
                self.on_raised()
        return raised
