"""Webhook subscriptions and their delivery log: plain tables (configuration and a log of
attempts, not the record), `migrations/0020.webhooks.sql`.

The deliverer's writes are short transactions of their own, before and after an HTTP call,
never around one: a delivery's outcome is written with a guard on the subscription's position
and generation, so an attempt that a replay (or another deliverer) overtook changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from psycopg import Connection
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from application.webhooks import Delivery, NewSubscription, RaisedNotice, Subscription
from domain.notices import Notice

_COLUMNS = (
    "id, project_id, url, event_types, active, created_by, created_at, position, failures,"
    " next_attempt_at, paused_reason, paused_at, generation, notice_position"
)
# Raisers of notices serialise on this transaction lock ("MN"), so ids commit in order.
NOTICE_LOCK = (0x4D4E, 0)


def _subscription(row: Sequence[Any]) -> Subscription:
    return Subscription(
        id=row[0],
        project_id=row[1],
        url=row[2],
        event_types=tuple(row[3]),
        active=row[4],
        created_by=row[5],
        created_at=row[6],
        position=row[7],
        failures=row[8],
        next_attempt_at=row[9],
        paused_reason=row[10],
        paused_at=row[11],
        generation=row[12],
        notice_position=row[13],
    )


class PostgresWebhooks:
    """The `webhooks` and `webhook_deliveries` tables, reached through a connection pool."""

    def __init__(self, pool: ConnectionPool[Connection[TupleRow]]) -> None:
        self._pool = pool

    # --- what the API manages ------------------------------------------------------------

    def create(self, new: NewSubscription) -> Subscription:
        with self._pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO public.webhooks"
                " (id, project_id, url, event_types, active, secret, created_by, position,"
                " notice_position)"
                f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
                (
                    new.id,
                    new.project_id,
                    new.url,
                    list(new.event_types),
                    new.active,
                    new.secret,
                    new.created_by,
                    new.position,
                    new.notice_position,
                ),
            ).fetchone()
        assert row is not None
        return _subscription(row)

    def get(self, webhook_id: UUID) -> Subscription | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM public.webhooks WHERE id = %s", (webhook_id,)
            ).fetchone()
        return None if row is None else _subscription(row)

    def subscriptions(self, project_ids: Sequence[UUID] | None) -> list[Subscription]:
        with self._pool.connection() as conn:
            if project_ids is None:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM public.webhooks ORDER BY created_at, id"
                ).fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM public.webhooks WHERE project_id = ANY(%s)"
                    " ORDER BY created_at, id",
                    (list(project_ids),),
                ).fetchall()
        return [_subscription(row) for row in rows]

    def project_ids(self, managed_by: str | None = None) -> list[UUID]:
        """The projects that have subscriptions; with `managed_by`, only those the projects
        view says that principal manages (one indexed join, not one load per project)."""
        with self._pool.connection() as conn:
            if managed_by is None:
                rows = conn.execute(
                    "SELECT DISTINCT project_id FROM public.webhooks WHERE project_id IS NOT NULL"
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT DISTINCT w.project_id FROM public.webhooks w"
                    " JOIN public.project_members m ON m.project_id = w.project_id"
                    " WHERE m.principal = %s AND m.role = 'manager'",
                    (managed_by,),
                ).fetchall()
        return [row[0] for row in rows]

    def change(
        self,
        webhook_id: UUID,
        *,
        url: str | None,
        event_types: tuple[str, ...] | None,
        active: bool | None,
        changed_by: str | None = None,
    ) -> Subscription | None:
        """Change what is given; `active=True` also clears a pause (failures, reason) and
        retries at once, from where the subscription stopped. `changed_by` becomes the
        principal the subscription delivers for (see `Deliverer`: it pauses a subscription
        whose principal no longer manages the project)."""
        resume = active is True
        with self._pool.connection() as conn:
            row = conn.execute(
                "UPDATE public.webhooks SET"
                " created_by = coalesce(%s, created_by),"
                " url = coalesce(%s, url),"
                " event_types = coalesce(%s, event_types),"
                " active = coalesce(%s, active),"
                " failures = CASE WHEN %s THEN 0 ELSE failures END,"
                " paused_reason = CASE WHEN %s THEN NULL ELSE paused_reason END,"
                " paused_at = CASE WHEN %s THEN NULL ELSE paused_at END,"
                " next_attempt_at = CASE WHEN %s THEN now() ELSE next_attempt_at END,"
                " generation = generation + 1"
                f" WHERE id = %s RETURNING {_COLUMNS}",
                (
                    changed_by,
                    url,
                    None if event_types is None else list(event_types),
                    active,
                    resume,
                    resume,
                    resume,
                    resume,
                    webhook_id,
                ),
            ).fetchone()
        return None if row is None else _subscription(row)

    def delete(self, webhook_id: UUID) -> bool:
        with self._pool.connection() as conn:
            cursor = conn.execute("DELETE FROM public.webhooks WHERE id = %s", (webhook_id,))
            return cursor.rowcount == 1

    def deliveries(
        self, webhook_id: UUID, before: int | None, limit: int
    ) -> list[tuple[int, Delivery]]:
        """The newest attempts first (before the log id `before`, when given)."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT id, message_id, position, event_type, attempt, attempted_at, status,"
                " response_code, latency_ms, error, notice_id FROM public.webhook_deliveries"
                " WHERE webhook_id = %s AND (%s::bigint IS NULL OR id < %s)"
                " ORDER BY id DESC LIMIT %s",
                (webhook_id, before, before, limit),
            ).fetchall()
        return [(row[0], Delivery(*row[1:])) for row in rows]

    def pause(self, sub: Subscription, reason: str) -> bool:
        """Pause the subscription with `reason`, unless it was changed meanwhile."""
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE public.webhooks SET paused_reason = %s, paused_at = now()"
                " WHERE id = %s AND generation = %s AND paused_reason IS NULL",
                (reason, sub.id, sub.generation),
            )
            return cursor.rowcount == 1

    def replay(self, webhook_id: UUID, from_position: int) -> Subscription | None:
        """Deliver again from `from_position` on: the position goes back to just before it,
        a pause is cleared, and the next attempt is now."""
        with self._pool.connection() as conn:
            row = conn.execute(
                "UPDATE public.webhooks SET position = greatest(%s - 1, 0), failures = 0,"
                " paused_reason = NULL, paused_at = NULL, next_attempt_at = now(),"
                f" generation = generation + 1 WHERE id = %s RETURNING {_COLUMNS}",
                (from_position, webhook_id),
            ).fetchone()
        return None if row is None else _subscription(row)

    # --- what the deliverer reads and writes ---------------------------------------------

    def deliverable_ids(self) -> list[UUID]:
        """Every active subscription that is not paused."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT id FROM public.webhooks WHERE active AND paused_reason IS NULL ORDER BY id"
            ).fetchall()
        return [row[0] for row in rows]

    def secret(self, webhook_id: UUID) -> str | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT secret FROM public.webhooks WHERE id = %s", (webhook_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def record(
        self,
        sub: Subscription,
        attempt: Delivery,
        *,
        retry_in: timedelta | None,
        pause_reason: str | None,
    ) -> bool:
        """Log one attempt and move the subscription on: past the event (or the notice) when
        it was delivered, else a retry in `retry_in` (or a pause). False if a replay or another
        deliverer moved the subscription meanwhile (the attempt is logged all the same)."""
        notice = attempt.notice_id is not None
        cursor_column = "notice_position" if notice else "position"
        reached = attempt.notice_id if notice else attempt.position
        held = sub.notice_position if notice else sub.position
        with self._pool.connection() as conn, conn.transaction():
            # Not waiting for the WAL flush: a record lost in a crash of the database only
            # makes its event go out again (at least once), and a delivery costs no fsync.
            conn.execute("SET LOCAL synchronous_commit = off")
            conn.execute(
                "INSERT INTO public.webhook_deliveries (webhook_id, message_id, position,"
                " event_type, attempt, attempted_at, status, response_code, latency_ms, error,"
                " notice_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    sub.id,
                    attempt.message_id,
                    attempt.position,
                    attempt.event_type,
                    attempt.attempt,
                    attempt.attempted_at,
                    attempt.status,
                    attempt.response_code,
                    attempt.latency_ms,
                    attempt.error,
                    attempt.notice_id,
                ),
            )
            if attempt.status == "delivered":
                cursor = conn.execute(
                    f"UPDATE public.webhooks SET {cursor_column} = %s, failures = 0,"
                    " next_attempt_at = now()"
                    f" WHERE id = %s AND generation = %s AND {cursor_column} = %s",
                    (reached, sub.id, sub.generation, held),
                )
            else:
                cursor = conn.execute(
                    "UPDATE public.webhooks SET failures = failures + 1,"
                    " next_attempt_at = now() + %s,"
                    " paused_reason = %s, paused_at = CASE WHEN %s::text IS NULL THEN NULL"
                    " ELSE now() END"
                    f" WHERE id = %s AND generation = %s AND {cursor_column} = %s",
                    (
                        retry_in or timedelta(0),
                        pause_reason,
                        pause_reason,
                        sub.id,
                        sub.generation,
                        held,
                    ),
                )
            return cursor.rowcount == 1

    def record_delivered(
        self, sub: Subscription, attempts: Sequence[Delivery], position: int
    ) -> bool:
        """Log delivered attempts (maybe none) and move the subscription to `position`, in one
        transaction; False if a replay or another deliverer moved it meanwhile."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SET LOCAL synchronous_commit = off")  # as in `record`
            if attempts:
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO public.webhook_deliveries (webhook_id, message_id,"
                        " position, event_type, attempt, attempted_at, status, response_code,"
                        " latency_ms, error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        [
                            (
                                sub.id,
                                a.message_id,
                                a.position,
                                a.event_type,
                                a.attempt,
                                a.attempted_at,
                                a.status,
                                a.response_code,
                                a.latency_ms,
                                a.error,
                            )
                            for a in attempts
                        ],
                    )
            cursor = conn.execute(
                "UPDATE public.webhooks SET position = %s,"
                " failures = CASE WHEN %s THEN 0 ELSE failures END"
                " WHERE id = %s AND generation = %s AND position = %s",
                (position, bool(attempts), sub.id, sub.generation, sub.position),
            )
            return cursor.rowcount == 1

    def skip_notices_to(self, sub: Subscription, notice_id: int) -> bool:
        """Move past notices the subscription does not want; False if it changed meanwhile."""
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE public.webhooks SET notice_position = %s"
                " WHERE id = %s AND generation = %s AND notice_position = %s",
                (notice_id, sub.id, sub.generation, sub.notice_position),
            )
            return cursor.rowcount == 1

    # --- notices -------------------------------------------------------------------------

    def raise_notices(self, notices: Sequence[Notice]) -> int:
        """Keep the notices not raised before (once per milestone, due date and kind); how
        many were new."""
        if not notices:
            return 0
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", NOTICE_LOCK)
            raised = 0
            for n in notices:
                cursor = conn.execute(
                    "INSERT INTO public.milestone_notices (kind, project_id, milestone_id,"
                    " milestone_name, due, today, risk_window_days)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (milestone_id, due, kind) DO NOTHING",
                    (
                        n.kind,
                        n.project_id,
                        n.milestone_id,
                        n.milestone_name,
                        n.due,
                        n.today,
                        n.risk_window_days,
                    ),
                )
                raised += cursor.rowcount
            return raised

    def notices_after(self, after: int, limit: int) -> list[RaisedNotice]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT id, kind, project_id, milestone_id, milestone_name, due, today,"
                " risk_window_days, noticed_at FROM public.milestone_notices"
                " WHERE id > %s ORDER BY id LIMIT %s",
                (after, limit),
            ).fetchall()
        return [RaisedNotice(row[0], Notice(*row[1:8]), row[8]) for row in rows]

    def last_notice_id(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT coalesce(max(id), 0) FROM public.milestone_notices"
            ).fetchone()
        return int(row[0]) if row else 0

    def prune_deliveries(self, older_than: timedelta) -> int:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "DELETE FROM public.webhook_deliveries WHERE attempted_at < now() - %s",
                (older_than,),
            )
            return cursor.rowcount
