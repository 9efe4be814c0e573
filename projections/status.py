"""Each view's position, lag (events and seconds) and holder, for the CLI, /ready, /metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from application.ledger import Ledger
from projections import claims, tracking


@dataclass(frozen=True)
class ViewStatus:
    """Where one view stands against the head of the log."""

    name: str
    position: int
    head: int
    lag_events: int
    # How long the oldest event the view has not applied has been waiting (0 when caught up).
    lag_seconds: float
    holder: str | None  # `hostname:pid` of the worker processing it, None when nobody is


def view_statuses(
    ledger: Ledger, conn: psycopg.Connection[Any], names: Sequence[str]
) -> list[ViewStatus]:
    """The status of every named view, read now.

    The lag in events counts notifications, not positions: positions may have gaps (a rolled
    back insert burns one), which a view never has to apply.
    """
    head = ledger.recorder.max_notification_id() or 0
    positions = tracking.read_positions(conn, names)
    holders = claims.holders(conn, names)
    now = conn.execute("SELECT now()").fetchone()
    assert now is not None
    statuses = []
    for name in names:
        position = positions[name]
        lag_events = 0
        lag_seconds = 0.0
        if position < head:
            lag_events = _count_after(ledger, position, head)
            waiting_since = first_occurred_after(ledger, position)
            if waiting_since is not None:
                lag_seconds = max(0.0, (now[0] - waiting_since).total_seconds())
        statuses.append(
            ViewStatus(name, position, head, lag_events, lag_seconds, holders.get(name))
        )
    return statuses


def _count_after(ledger: Ledger, position: int, head: int) -> int:
    recorder: Any = ledger.recorder
    query = sql.SQL(
        "SELECT count(*) AS n FROM {}.{} WHERE notification_id > %s AND notification_id <= %s"
    ).format(sql.Identifier(recorder.datastore.schema), sql.Identifier(recorder.events_table_name))
    with recorder.datastore.get_connection() as conn:
        row = conn.execute(query, (position, head)).fetchone()
    return int(row["n"]) if row else 0


def first_occurred_after(ledger: Ledger, position: int) -> datetime | None:
    """When the first event after `position` occurred (None: there is none yet)."""
    notifications = ledger.recorder.select_notifications(start=position + 1, limit=1)
    if not notifications:
        return None
    event = ledger.mapper.to_domain_event(notifications[0])
    timestamp: datetime | None = getattr(event, "timestamp", None)
    return timestamp
