"""Applying a page of the log to the views: one transaction writes every view's rows, moves its
tracking position and announces it (NOTIFY), so each view applies each event exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from application.decoding import decoder_of
from application.ledger import Ledger
from domain.events import ProjectEvent
from projections import tracking, watcher
from projections.base import View
from projections.committed import Committed
from projections.transactions import pipelined_transaction

# A page of at most this many notifications (the live tail) is written in pipeline mode: BEGIN
# goes with the locking of the positions, the statements that read wait for their answer, and
# the writes, the positions, the NOTIFY and the COMMIT go together in one round trip. A bigger
# page (catch-up, a backlog) uses COPY, which a pipeline refuses.
PIPELINE_PAGE_MAX = 64


def read_page(ledger: Ledger, after: int, limit: int) -> Sequence[Any]:
    """The notifications after position `after`, at most `limit` (the store's narrow read,
    `LedgerStore.read_page`)."""
    return ledger.store.read_page(after, limit)


def read_share(
    ledger: Ledger, after: int, until: int, limit: int, share: int, shares: int
) -> Sequence[Any]:
    """`read_page` of one share of the projects, at or below `until` (`LedgerStore.read_share`):
    what one of several processes rebuilding a view together reads."""
    return ledger.store.read_share(after, until, limit, share, shares)


def decode(
    ledger: Ledger, notifications: Sequence[Any], after: int = 0
) -> list[tuple[ProjectEvent, int]]:
    """The project events of a page of notifications after position `after`, with their
    positions."""
    events: list[tuple[ProjectEvent, int]] = []
    to_event = decoder_of(ledger.mapper)  # the mapper's events, for less CPU
    for notification in notifications:
        if notification.id <= after:
            continue
        event = to_event(notification)
        if isinstance(event, ProjectEvent):  # others are not ours to show
            events.append((event, notification.id))
    return events


class Pages:
    """Applies the next page of the log to views, one page at a time in this process."""

    def __init__(
        self,
        ledger: Ledger,
        pool: ConnectionPool[Any],
        committed: Committed,
        *,
        page_size: int,
        pipeline_page_max: int = PIPELINE_PAGE_MAX,
    ) -> None:
        self._ledger = ledger
        self._pool = pool
        self._committed = committed
        self.page_size = page_size
        self._pipeline_page_max = pipeline_page_max
        # One page at a time in this process (the runner's thread, catch_up, rebuild).
        self._lock = threading.Lock()

    def apply_next(
        self, views: Sequence[View], before_commit: Callable[[], None] | None = None
    ) -> int:
        """Apply the next page to the views that still need it; the number of notifications.

        `before_commit()` runs in the page's transaction, once its statements are sent.
        """
        names = [view.name for view in views]
        with self._lock:
            known = self._committed.known()
            after = min(known[name] for name in names)
            notifications = read_page(self._ledger, after, self.page_size)
            if not notifications:
                return 0
            last = notifications[-1].id
            with self._pool.connection() as conn:
                pipelined = len(notifications) <= self._pipeline_page_max
                with (
                    pipelined_transaction(conn) if pipelined else conn.transaction(),
                    conn.cursor() as cur,
                ):
                    # The tracking table, locked, has the final word: another process may be
                    # ahead.
                    locked = tracking.lock_positions(cur, names)
                    # A view behind `after` (our cached position was stale) would miss events
                    # in this page; it waits for a page that starts where it stands.
                    due = [v for v in views if after <= locked[v.name] < last]
                    if due:
                        self._apply(cur, notifications, due, locked)
                        for view in due:
                            tracking.write_position(cur, view.name, last)
                        # Delivered at commit: readers in every process wake up.
                        watcher.notify(cur, last, [view.name for view in due])
                    if before_commit is not None:
                        before_commit()
            self._committed.record(
                {
                    name: last if after <= position < last else position
                    for name, position in locked.items()
                }
            )
            return len(notifications)

    def _apply(
        self,
        cur: psycopg.Cursor[Any],
        notifications: Sequence[Any],
        views: Sequence[View],
        positions: dict[str, int],
    ) -> None:
        events = decode(self._ledger, notifications, min(positions[v.name] for v in views))
        # Each view writes a page with a few set-based statements; in pipeline mode only its
        # reads wait for an answer (`writes.copy` then INSERTs instead of COPY).
        for view in views:
            behind = [(e, p) for e, p in events if p > positions[view.name]]
            if behind:
                view.process_page(cur, behind)
