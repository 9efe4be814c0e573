"""Feeds the views from the event log: a page of events per transaction, woken by NOTIFY.

Several runners (processes, machines) may share a database: each view is processed by the one
runner holding its advisory lock (see `claims`), and taken over by another within a poll
interval once that runner's session ends.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from adapters.postgres.database import pool_conninfo
from application.ledger import Ledger
from projections import claims, tracking, watcher
from projections.base import View
from projections.committed import Committed
from projections.pages import PIPELINE_PAGE_MAX, Pages
from projections.rebuild import PAGE_SIZE as REBUILD_PAGE_SIZE
from projections.rebuild import Rebuild
from projections.shares import OpenFiller
from projections.waits import AsyncWaits, Waits

log = logging.getLogger(__name__)

# After a failure the runner waits this long, doubling up to the maximum, then resumes from the
# tracking table (which the failed transaction left untouched).
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 2.0
# The longest the thread waits for a NOTIFY before it checks whether it should stop.
STOP_SLICE = 0.1

Progress = Callable[[int, int], None]  # (position reached, head position)

# A rebuild of a log of at least this many events is split across processes, one per core (at
# most REBUILD_PROCESSES_MAX). Starting a helper costs ~1 s of CPU (its imports and wiring),
# during which this process already applies its share: below this, that is about what the
# split saves.
REBUILD_SHARES_FROM = 10_000
REBUILD_PROCESSES_MAX = 4


class ProjectionRunner:
    """Applies new events to every view, each page in one transaction with the views' positions.

    Not the library's runner: that one commits once per event and its subscription waits on
    NOTIFY with no timeout. This one reads `page_size` notifications at a time, listens with a
    timeout (so a lost NOTIFY delays a view by `poll_interval` at most), and after any error
    backs off, reconnects and resumes from the tracking table, which the transaction keeps
    exact: no event is lost or applied twice.

    The background thread processes only the views whose lock it holds on its own session
    connection, and tries to claim the others on every wake-up. `catch_up` and `rebuild`, run
    in the caller's thread, need no lock: the tracking rows keep them exact too. A page is
    applied by `projections.pages`; readers wait for a position with `projections.waits`.
    """

    def __init__(
        self,
        ledger: Ledger,
        pool: ConnectionPool[Any],
        views: Sequence[View],
        *,
        page_size: int = 1000,
        rebuild_page_size: int = REBUILD_PAGE_SIZE,
        poll_interval: float = 0.5,
        holder: str | None = None,
        pipeline_page_max: int = PIPELINE_PAGE_MAX,
        open_filler: OpenFiller | None = None,
        rebuild_processes: int | None = None,
        rebuild_shares_from: int = REBUILD_SHARES_FROM,
    ) -> None:
        names = [view.name for view in views]
        if len(set(names)) != len(names):
            raise ValueError(f"view names must be unique: {names}")
        self._ledger = ledger
        self._pool = pool
        self._views = list(views)
        self._names = names
        self._rebuild_page_size = rebuild_page_size
        # How a rebuild opens helper processes (None: it runs in this one alone).
        self._open_filler = open_filler
        self._rebuild_processes = rebuild_processes or min(
            len(os.sched_getaffinity(0)) or 1, REBUILD_PROCESSES_MAX
        )
        self._rebuild_shares_from = rebuild_shares_from
        self._poll_interval = poll_interval
        # Positions known to be committed, by view, and the views the thread holds.
        self._committed = Committed(self._read_positions)
        self._pages = Pages(
            ledger, pool, self._committed, page_size=page_size, pipeline_page_max=pipeline_page_max
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.holder = holder or claims.worker_id()
        self.last_error: BaseException | None = None
        # Hears of the commits of runners in other processes (and of this one's).
        self._watcher = watcher.PositionWatcher(self._conninfo, self._read_schema_positions)
        self._waits = Waits(
            self._committed, self._watcher, self._read_positions, lambda: self.running
        )
        channel: str | None = getattr(ledger.recorder, "channel_name", None)
        self._channel = channel  # None with a store that does not NOTIFY: poll only

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start applying events in a daemon thread until `stop()`."""
        if self.running:
            return
        self._stop.clear()
        self._watcher.reopen()
        self._thread = threading.Thread(target=self._run, name="projection-runner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the thread after its current page and wait for it (at most `timeout` s)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        self._watcher.stop(timeout)
        self._committed.wake()

    @property
    def names(self) -> list[str]:
        """The names of the views this runner feeds, in the order it applies them."""
        return list(self._names)

    @property
    def held(self) -> frozenset[str]:
        """The views this runner's thread holds (processes) right now."""
        return self._committed.held

    def _run(self) -> None:
        backoff = BACKOFF_FIRST
        session: psycopg.Connection[Any] | None = None
        claimed = 0.0
        while not self._stop.is_set():
            try:
                if session is None:
                    # LISTEN before reading, so nothing committed after the read goes unheard.
                    session = claims.connect(self._conninfo(), self.holder, self._channel)
                # Claiming costs a round trip: on every wake-up only while a view is missing,
                # else once a poll interval (which also proves the session alive).
                now = time.monotonic()
                if len(self.held) < len(self._names) or now - claimed >= self._poll_interval:
                    self._claim(session)
                    claimed = now
                held = [view for view in self._views if view.name in self.held]
                if held:
                    self._drain(held)
                self.last_error = None
                backoff = BACKOFF_FIRST
                self._wait_for_events(session)
            except Exception as error:
                self.last_error = error
                log.warning("projection runner failed; retrying in %.1fs", backoff, exc_info=True)
                _close(session)  # its locks go with it: another runner may take the views
                session = None
                self._committed.hold(frozenset())
                self._committed.forget()  # resume from the tracking table
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
        _close(session)
        self._committed.hold(frozenset())

    def _conninfo(self) -> str:
        return pool_conninfo(self._pool)

    def _claim(self, session: psycopg.Connection[Any]) -> None:
        gained = claims.try_claim(session, [n for n in self._names if n not in self.held])
        if gained:
            log.info("runner %s now processes %s", self.holder, ", ".join(sorted(gained)))
            self._committed.hold(self.held | gained)

    def _wait_for_events(self, listener: psycopg.Connection[Any]) -> None:
        """Return on a NOTIFY, or after `poll_interval` in case one was lost."""
        if self._channel is None:
            self._stop.wait(self._poll_interval)
            return
        # In slices, so that `stop()` is noticed within one slice.
        deadline = time.monotonic() + self._poll_interval
        notified = False
        while not notified and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # Exhaust the generator: it holds the connection's lock until it ends.
            for _ in listener.notifies(timeout=min(remaining, STOP_SLICE), stop_after=1):
                notified = True
        # A burst of commits sends a burst of NOTIFYs; one read catches up with all of them.
        for _ in listener.notifies(timeout=0):
            pass

    def _drain(self, views: Sequence[View]) -> None:
        page_size = self._pages.page_size
        while not self._stop.is_set():
            if self._pages.apply_next(views, before_commit=self._recovered) != page_size:
                return

    def _recovered(self) -> None:
        # Said in the page's transaction, before its COMMIT wakes any reader (a failed COMMIT
        # raises, and `_run` records that error).
        self.last_error = None

    # --- applying, in the caller's thread -------------------------------------------------

    def catch_up(self, progress: Progress | None = None) -> int:
        """Apply, in this thread, every event up to the head of the log as it is now.

        Returns how many notifications were read. `progress(position, head)` is called
        after each page.
        """
        head = self.head()
        read = 0
        while True:
            count = self._pages.apply_next(self._views)
            read += count
            reached = min(self._committed.known().values())
            if progress is not None:
                progress(min(reached, head), head)
            if reached >= head or count == 0:
                return read

    def rebuild(self, name: str, progress: Progress | None = None) -> int:
        """Rebuild the view into shadow tables and swap them in; the notifications read.

        Queries answer from the old tables until the swap (see `projections.rebuild`).
        """
        return self._rebuild([self._view(name)], progress)

    def rebuild_all(self, progress: Progress | None = None) -> int:
        """Rebuild every view at once: each page of the log is read and decoded once for all
        of them; each view is swapped in when all have caught up. The notifications read."""
        return self._rebuild(self._views, progress)

    def _rebuild(self, views: Sequence[View], progress: Progress | None) -> int:
        shares = 1
        if self._open_filler is not None and self.head() >= self._rebuild_shares_from:
            shares = self._rebuild_processes
        read = Rebuild(
            self._ledger,
            self._pool,
            views,
            page_size=self._rebuild_page_size,
            progress=progress,
            shares=shares,
            open_filler=self._open_filler,
        ).run()
        self._committed.forget()  # the swap moved the views' positions
        return read

    def fill_share(self, names: Sequence[str], share: int, shares: int, until: int) -> int:
        """A helper process's part of a rebuild in shares (`projections.shares`): apply one
        share of the log, up to `until`, to the named views' shadow tables."""
        views = [self._view(name) for name in names]
        rebuild = Rebuild(self._ledger, self._pool, views, page_size=self._rebuild_page_size)
        return rebuild.fill_share(share, shares, until)

    # --- reading positions ---------------------------------------------------------------

    def positions(self) -> dict[str, int]:
        """Each view's committed position, from the tracking table."""
        return self._read_positions()

    def head(self) -> int:
        """The position of the last event in the log (0 when it is empty)."""
        return self._ledger.recorder.max_notification_id() or 0

    def wait_for(self, position: int, timeout: float, views: Sequence[str] | None = None) -> bool:
        """True once every named view (all by default) has applied `position`; False when
        `timeout` s pass first (see `projections.waits`)."""
        return self._waits.wait_for(self.view_names(views), position, timeout)

    def async_waits(self) -> AsyncWaits:
        """Waits for readers on an event loop (one per loop's owner; `close()` it after)."""
        return AsyncWaits(self._watcher, self._reached_here, self._read_positions)

    def view_names(self, views: Sequence[str] | None = None) -> list[str]:
        """The names of the named views (all by default); KeyError for an unknown one."""
        return self._names if views is None else [self._view(name).name for name in views]

    def _reached_here(self, names: Sequence[str], position: int) -> bool:
        committed = self._committed
        return (
            self.running and committed.held.issuperset(names) and committed.reached(names, position)
        )

    def _read_positions(self) -> dict[str, int]:
        with self._pool.connection() as conn:
            return tracking.read_positions(conn, self._names)

    def _read_schema_positions(self) -> tuple[str, dict[str, int]]:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT current_schema()").fetchone()
            return str(row[0] if row else ""), tracking.read_positions(conn, self._names)

    def _view(self, name: str) -> View:
        for view in self._views:
            if view.name == name:
                return view
        raise KeyError(f"no view named {name!r}; the views are {', '.join(self._names)}")


def _close(conn: psycopg.Connection[Any] | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except Exception:
            log.debug("closing the LISTEN connection failed", exc_info=True)
