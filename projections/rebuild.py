"""Rebuild a view from the events into shadow tables, then swap them in atomically.

Queries keep answering from the live tables (which the runner keeps current) while the rebuild
fills a copy in the schema `rebuild_<view>`: the view's own DDL and page handlers run there
under `SET search_path`, since views use unqualified table names. Each page commits with the
shadow's position (its own `projection_tracking` in that schema). Once the shadow has caught
up, one transaction locks the live tracking row (the runner waits for it), applies the last
few events to the shadow, moves the live tables out and the shadow tables into `public`
(keeping the old tables' owner and grants), and sets the live position: a reader sees either
every old table or every new one, never a half-built one.

Several views can be rebuilt together: each page of the log is then read and decoded once and
applied to every shadow in one transaction. A big log is split into shares of the projects,
each applied by its own process (`projections.shares`) up to the head as it was at the start;
the swap then catches up with everything after it. The shadow tables start empty, so pages are large
(`PAGE_SIZE`) and the secondary indexes (`CREATE INDEX` statements of the view's DDL) are built
once the shadow has caught up, before the swap: bulk loading comes first.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors, sql
from psycopg_pool import ConnectionPool

from adapters.postgres.database import pool_conninfo
from application.ledger import Ledger
from domain.events import ProjectEvent
from projections import claims, tracking
from projections.base import View
from projections.pages import decode, read_page, read_share
from projections.shares import Helpers, OpenFiller, ShareError, orphaned
from projections.swap import LIVE_SCHEMA, move_tables, shadow_schema

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (position reached, head position)

# The swap waits this long for a table or the tracking row, then gives way and tries again:
# a reader holding one table while waiting for another must not deadlock with it.
SWAP_LOCK_TIMEOUT = "500ms"
SWAP_ATTEMPTS = 40
# A page's transaction waits on Python between its statements (the fold of 5,000 events): on a
# busy machine that outlasts the pool's idle-in-transaction timeout, made for forgotten readers.
# Nobody reads or waits for the shadow tables, so a page's transaction may idle this long.
SHADOW_IDLE_TIMEOUT = "120s"
# Notifications per page: bigger than the runner's, since nothing reads the shadow meanwhile.
PAGE_SIZE = 5000
# Index builds a rebuild runs at once after the fill (each may use maintenance_work_mem and
# PostgreSQL's parallel maintenance workers on the live server), and what they are called in
# pg_stat_activity.
INDEX_SESSIONS = 4
INDEX_SESSION_NAME = "milestones rebuild index"


# The collector's generations collected after each page while a rebuild fills its shadows.
PAGE_COLLECTION = 1


@contextmanager
def _collected_by_page() -> Iterator[None]:
    """The cyclic garbage collector off while pages are applied; the caller collects the young
    generations (`PAGE_COLLECTION`) after each page instead.

    A page's events, rows and their dicts live for the page: hundreds of thousands of objects
    that the collector's automatic runs (one per 700 allocations) kept promoting to older
    generations and walking again, and whose promotions set off walks of the whole heap — about
    a sixth of a rebuild's CPU (docs/performance.md, "`rebuild`"). Collected once a page is
    done, most of them are gone already (freed by their reference counts), so the walk covers
    only what outlives the page, and cyclic garbage still goes within a page.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class RebuildError(RuntimeError):
    """A rebuild could not start or finish (another is running, the swap kept being blocked)."""


def _is_index(statement: str) -> bool:
    return statement.lstrip().upper().startswith(("CREATE INDEX", "CREATE UNIQUE INDEX"))


class Rebuild:
    """One rebuild of one view (or of several at once); `run()` returns how many notifications
    it read (each page once, whatever the number of views)."""

    def __init__(
        self,
        ledger: Ledger,
        pool: ConnectionPool[Any],
        view: View | Sequence[View],
        *,
        page_size: int = PAGE_SIZE,
        progress: Progress | None = None,
        shares: int = 1,
        open_filler: OpenFiller | None = None,
    ) -> None:
        self._ledger = ledger
        self._pool = pool
        self._views = [view] if isinstance(view, View) else list(view)
        if not self._views:
            raise ValueError("nothing to rebuild")
        self._page_size = page_size
        self._progress = progress
        if shares > 1 and open_filler is None:
            raise ValueError("a rebuild in shares needs a way to open the helpers' processes")
        self._shares = shares
        self._open_filler = open_filler
        self.read = 0

    def run(self) -> int:
        with self._pool.connection() as guard:
            guard.autocommit = True
            locked: list[str] = []
            try:
                for view in self._views:
                    if not claims.try_lock_rebuild(guard, view.name):
                        raise RebuildError(f"a rebuild of {view.name} is already running")
                    locked.append(view.name)
                for view in self._views:
                    self._create_shadow(view)
                if self._shares > 1:
                    # What was appended while the shares ran is applied here, page by page
                    # with the shadows' own idle allowance, so the swap (holding the live
                    # position against the runner) is left with a short remainder only.
                    position = self._fill_shadows(self._fill_in_shares())
                else:
                    position = self._fill_shadows()
                self._create_indexes()
                # What was appended while the indexes were built, page by page, so each swap
                # (holding the live position against the runner) has a short remainder only.
                position = self._fill_shadows(position)
                for view in self._views:
                    self._swap(view, position)
            finally:
                for name in locked:
                    claims.unlock_rebuild(guard, name)
                guard.autocommit = False
        return self.read

    def _create_shadow(self, view: View) -> None:
        schema = sql.Identifier(shadow_schema(view.name))
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
            cur.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
            _in_shadow(cur, view)
            for statement in (*tracking.DDL, *view.ddl):
                if not _is_index(statement):
                    cur.execute(statement)

    def _create_indexes(self) -> None:
        """Every shadow's secondary indexes, side by side (`_build_side_by_side`), then each
        table's statistics, before the swap: fresh tables have none until autovacuum comes by,
        and the planner's guesses made filtered reads of a rebuilt 1M-row audit trail several
        times slower than they are once analyzed."""
        statements = [(view, s) for view in self._views for s in view.ddl if _is_index(s)]
        if statements:
            self._build_side_by_side(statements)
        for view in self._views:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                _in_shadow(cur, view)
                for table in view.tables:
                    cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))

    def _build_side_by_side(self, statements: list[tuple[View, str]]) -> None:
        """The indexes, `INDEX_SESSIONS` at a time, each in a session of its own (not the
        pool's: they may outnumber the connections it keeps for the service). PostgreSQL builds
        a GIN index in one process and a B-tree with few, and builds that scan the same table
        side by side share its pages (synchronized scans): at 2,000,000 audit rows the trail's
        six took 15–16 s at once against 21–26 s one after the other (load 5–7,
        docs/performance.md). The first build that fails, or an interrupt, cancels the others
        on the server: a rebuild stopped with Ctrl-C, or failing, does not wait for the longest
        build first."""
        conninfo = pool_conninfo(self._pool)
        stopping = threading.Event()
        running: dict[int, psycopg.Connection[Any]] = {}
        lock = threading.Lock()

        def build(n: int, view: View, statement: str) -> None:
            with psycopg.connect(conninfo, application_name=INDEX_SESSION_NAME) as conn:
                with lock:
                    if stopping.is_set():
                        return
                    running[n] = conn
                try:
                    with conn.cursor() as cur:
                        _in_shadow(cur, view)
                        cur.execute(statement)
                finally:
                    with lock:
                        running.pop(n, None)

        with ThreadPoolExecutor(
            min(len(statements), INDEX_SESSIONS), thread_name_prefix="rebuild-index"
        ) as run:
            builds = [run.submit(build, n, *each) for n, each in enumerate(statements)]
            try:
                for built in as_completed(builds):
                    built.result()
            except BaseException:
                with lock:
                    stopping.set()
                    for queued in builds:
                        queued.cancel()
                    for conn in running.values():
                        conn.cancel_safe(timeout=5)
                raise

    def _read(self, after: int) -> tuple[list[tuple[ProjectEvent, int]], int, int]:
        """The next page after `after`: its events, its last position and its notifications."""
        notifications = read_page(self._ledger, after, self._page_size)
        if not notifications:
            return [], after, 0
        self.read += len(notifications)
        return decode(self._ledger, notifications), int(notifications[-1].id), len(notifications)

    def _fill_shadows(self, position: int = 0) -> int:
        """Apply the log after `position` (the whole log by default) to the shadows, page by
        page; the position reached."""
        with _collected_by_page():
            while True:
                events, position, count = self._read(position)
                self._shadow_page(events, position, count)
                del events  # before the collection: the page is done
                gc.collect(PAGE_COLLECTION)
                if count < self._page_size:
                    return position

    def _fill_in_shares(self) -> int:
        """Apply the log up to its head as it is now, share 0 here and the others in helper
        processes; that head (the swap catches up from it)."""
        assert self._open_filler is not None
        until = self._ledger.recorder.max_notification_id() or 0
        names = [view.name for view in self._views]
        helpers = Helpers(self._open_filler, names, self._shares, until)
        try:
            self.fill_share(0, self._shares, until, between_pages=helpers.check)
            self.read += helpers.join()
        except ShareError as error:
            raise RebuildError(f"rebuilding {', '.join(names)}: {error}") from error
        finally:
            helpers.stop()
        return until

    def fill_share(
        self,
        share: int,
        shares: int,
        until: int,
        *,
        between_pages: Callable[[], None] = lambda: None,
    ) -> int:
        """Apply the events of one share of the projects, up to `until`, to the shadows (which
        exist); the notifications read. The shadows' tracking rows are not written: the
        shares' positions differ, and the swap starts from `until`. `between_pages` runs
        before each page and may raise to stop it (the rebuild process checks its helpers)."""
        with _collected_by_page():
            return self._fill_share(share, shares, until, between_pages)

    def _fill_share(
        self, share: int, shares: int, until: int, between_pages: Callable[[], None]
    ) -> int:
        position = 0
        while True:
            if orphaned():
                raise RebuildError(f"share {share}: the rebuild that started it has ended")
            between_pages()
            notifications = read_share(
                self._ledger, position, until, self._page_size, share, shares
            )
            if not notifications:
                return self.read
            self.read += len(notifications)
            position, last_page = int(notifications[-1].id), len(notifications) < self._page_size
            events = decode(self._ledger, notifications)
            if events:
                with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                    _may_idle(cur)
                    for view in self._views:
                        _in_shadow(cur, view)
                        view.process_page(cur, events)
            del events, notifications  # before the collection: the page is done
            gc.collect(PAGE_COLLECTION)
            self._report(position)
            if last_page:
                return self.read

    def _shadow_page(
        self, events: list[tuple[ProjectEvent, int]], position: int, count: int
    ) -> None:
        if count:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                _may_idle(cur)
                for view in self._views:
                    _in_shadow(cur, view)
                    if events:
                        view.process_page(cur, events)
                    tracking.write_position(cur, view.name, position)
        self._report(position)

    def _report(self, position: int) -> None:
        if self._progress is not None:
            head = self._ledger.recorder.max_notification_id() or 0
            self._progress(min(position, head), head)

    def _swap(self, view: View, position: int) -> None:
        for attempt in range(SWAP_ATTEMPTS):
            try:
                self._swap_once(view, position)
                return
            except (errors.LockNotAvailable, errors.DeadlockDetected):
                log.info("swap of %s blocked (attempt %d); retrying", view.name, attempt + 1)
                time.sleep(0.05 * (attempt + 1))
        raise RebuildError(f"the swap of {view.name} stayed blocked; the shadow is kept")

    def _swap_once(self, view: View, position: int) -> None:
        name = view.name
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute("SELECT set_config('lock_timeout', %s, true)", (SWAP_LOCK_TIMEOUT,))
            # The live runner waits on this row until the swap commits, then sees the new
            # position; readers go on with the live tables meanwhile.
            cur.execute(
                sql.SQL(
                    "INSERT INTO {}.projection_tracking (name, position) VALUES (%s, 0)"
                    " ON CONFLICT (name) DO NOTHING"
                ).format(sql.Identifier(LIVE_SCHEMA)),
                (name,),
            )
            cur.execute(
                sql.SQL(
                    "SELECT position FROM {}.projection_tracking WHERE name = %s FOR UPDATE"
                ).format(sql.Identifier(LIVE_SCHEMA)),
                (name,),
            )
            # The head can only be at or beyond the live position: catching up to it never
            # moves the view backwards under a reader that waited for its own write.
            _in_shadow(cur, view)
            while True:
                events, position, count = self._read(position)
                if events:
                    view.process_page(cur, events)
                if count < self._page_size:
                    break
            cur.execute("SELECT set_config('search_path', %s, true)", (LIVE_SCHEMA,))
            move_tables(cur, view)
            cur.execute(
                sql.SQL(
                    "UPDATE {}.projection_tracking SET position = %s, updated_at = now()"
                    " WHERE name = %s"
                ).format(sql.Identifier(LIVE_SCHEMA)),
                (position, name),
            )
        self._report(position)
        log.info("rebuilt %s up to position %d", name, position)


def _may_idle(cur: psycopg.Cursor[Any]) -> None:
    cur.execute(
        "SELECT set_config('idle_in_transaction_session_timeout', %s, true)",
        (SHADOW_IDLE_TIMEOUT,),
    )


def _in_shadow(cur: psycopg.Cursor[Any], view: View) -> None:
    # Only the shadow schema: a table the view forgot to create fails loudly instead of
    # writing to the live one (pg_catalog is searched implicitly).
    cur.execute("SELECT set_config('search_path', %s, true)", (shadow_schema(view.name),))
