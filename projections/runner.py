"""Feeds the views from the event log: a page of events per transaction, woken by NOTIFY.

Several runners (processes, machines) may share a database: each view is processed by the one
runner holding its advisory lock (see `claims`), and taken over by another within a poll
interval once that runner's session ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from application.ledger import Ledger
from domain.events import ProjectEvent
from projections import claims, tracking, watcher
from projections.base import View
from projections.rebuild import PAGE_SIZE as REBUILD_PAGE_SIZE
from projections.rebuild import Rebuild, read_page
from projections.transactions import pipelined_transaction

log = logging.getLogger(__name__)

# After a failure the runner waits this long, doubling up to the maximum, then resumes from the
# tracking table (which the failed transaction left untouched).
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 2.0
# How often `wait_for` reads the tracking table when no runner works in this process and the
# watcher is not listening; while it listens, NOTIFYs wake the readers, and they read the table
# only this often in case one was lost.
POLL_TRACKING_EVERY = 0.02
FALLBACK_POLL = 0.25
# The longest the thread waits for a NOTIFY before it checks whether it should stop.
STOP_SLICE = 0.1
# A page of at most this many notifications (the live tail) is written in pipeline mode: BEGIN
# goes with the locking of the positions, the statements that read wait for their answer, and
# the writes, the positions, the NOTIFY and the COMMIT go together in one round trip. A bigger
# page (catch-up, a backlog) uses COPY, which a pipeline refuses.
PIPELINE_PAGE_MAX = 64

Progress = Callable[[int, int], None]  # (position reached, head position)


class ProjectionRunner:
    """Applies new events to every view, each page in one transaction with the views' positions.

    Not the library's runner: that one commits once per event and its subscription waits on
    NOTIFY with no timeout. This one reads `page_size` notifications at a time, listens with a
    timeout (so a lost NOTIFY delays a view by `poll_interval` at most), and after any error
    backs off, reconnects and resumes from the tracking table, which the transaction keeps
    exact: no event is lost or applied twice.

    The background thread processes only the views whose lock it holds on its own session
    connection, and tries to claim the others on every wake-up. `catch_up` and `rebuild`, run
    in the caller's thread, need no lock: the tracking rows keep them exact too.
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
    ) -> None:
        names = [view.name for view in views]
        if len(set(names)) != len(names):
            raise ValueError(f"view names must be unique: {names}")
        self._ledger = ledger
        self._pool = pool
        self._views = list(views)
        self._names = names
        self._page_size = page_size
        self._rebuild_page_size = rebuild_page_size
        self._poll_interval = poll_interval
        self._pipeline_page_max = pipeline_page_max
        # Positions known to be committed, by view; waiters are woken after each commit.
        self._positions: dict[str, int] | None = None
        self._committed = threading.Condition()
        # One page at a time in this process (the background thread, catch_up, rebuild).
        self._page_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The views whose lock the thread holds; changed under `_committed`.
        self._held: frozenset[str] = frozenset()
        self.holder = holder or claims.worker_id()
        self.last_error: BaseException | None = None
        # Hears of the commits of runners in other processes (and of this one's).
        self._watcher = watcher.PositionWatcher(self._conninfo, self._read_schema_positions)
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
        with self._committed:
            self._committed.notify_all()

    @property
    def names(self) -> list[str]:
        """The names of the views this runner feeds, in the order it applies them."""
        return list(self._names)

    @property
    def held(self) -> frozenset[str]:
        """The views this runner's thread holds (processes) right now."""
        return self._held

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
                if len(self._held) < len(self._names) or now - claimed >= self._poll_interval:
                    self._claim(session)
                    claimed = now
                held = [view for view in self._views if view.name in self._held]
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
                self._set_held(frozenset())
                with self._committed:
                    self._positions = None  # resume from the tracking table
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
        _close(session)
        self._set_held(frozenset())

    def _conninfo(self) -> str:
        conninfo = self._pool.conninfo
        return conninfo() if callable(conninfo) else conninfo

    def _claim(self, session: psycopg.Connection[Any]) -> None:
        gained = claims.try_claim(session, [n for n in self._names if n not in self._held])
        if gained:
            log.info("runner %s now processes %s", self.holder, ", ".join(sorted(gained)))
            self._set_held(self._held | gained)

    def _set_held(self, held: frozenset[str]) -> None:
        with self._committed:
            if held != self._held:
                # Another runner moved these views while we did not hold them.
                self._positions = None
            self._held = held
            self._committed.notify_all()

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
        while not self._stop.is_set() and self._process_page(views) == self._page_size:
            pass

    # --- applying ------------------------------------------------------------------------

    def catch_up(self, progress: Progress | None = None) -> int:
        """Apply, in this thread, every event up to the head of the log as it is now.

        Returns how many notifications were read. `progress(position, head)` is called
        after each page.
        """
        head = self._ledger.recorder.max_notification_id() or 0
        read = 0
        while True:
            count = self._process_page(self._views)
            read += count
            reached = min(self._known_positions().values())
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
        read = Rebuild(
            self._ledger, self._pool, views, page_size=self._rebuild_page_size, progress=progress
        ).run()
        with self._committed:
            self._positions = None  # the swap moved the views' positions
        return read

    def _process_page(self, views: Sequence[View]) -> int:
        """Apply the next page to the views that still need it; the number of notifications."""
        names = [view.name for view in views]
        with self._page_lock:
            known = self._known_positions()
            after = min(known[name] for name in names)
            notifications = read_page(self._ledger, after, self._page_size)
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
                    if threading.current_thread() is self._thread:
                        # Recovered, said before the COMMIT wakes any reader (a failed
                        # COMMIT raises, and `_run` records that error).
                        self.last_error = None
            committed = {
                name: last if after <= position < last else position
                for name, position in locked.items()
            }
            with self._committed:
                if self._positions is not None:
                    self._positions = {**self._positions, **committed}
                self._committed.notify_all()
            return len(notifications)

    def _apply(
        self,
        cur: psycopg.Cursor[Any],
        notifications: Sequence[Any],
        views: Sequence[View],
        positions: dict[str, int],
    ) -> None:
        events: list[tuple[ProjectEvent, int]] = []
        floor = min(positions[v.name] for v in views)
        for notification in notifications:
            if notification.id <= floor:
                continue
            event = self._ledger.mapper.to_domain_event(notification)
            if isinstance(event, ProjectEvent):  # others are not ours to show
                events.append((event, notification.id))
        # Each view writes a page with a few set-based statements; in pipeline mode only its
        # reads wait for an answer (`batch.Table.copy` then INSERTs instead of COPY).
        for view in views:
            behind = [(e, p) for e, p in events if p > positions[view.name]]
            if behind:
                view.process_page(cur, behind)

    def _known_positions(self) -> dict[str, int]:
        if self._positions is None:
            positions = self._read_positions()
            with self._committed:
                self._positions = positions
                self._committed.notify_all()
            return dict(positions)
        return dict(self._positions)

    # --- reading positions ---------------------------------------------------------------

    def positions(self) -> dict[str, int]:
        """Each view's committed position, from the tracking table."""
        return self._read_positions()

    def head(self) -> int:
        """The position of the last event in the log (0 when it is empty)."""
        return self._ledger.recorder.max_notification_id() or 0

    def wait_for(self, position: int, timeout: float, views: Sequence[str] | None = None) -> bool:
        """True once every named view (all by default) has applied `position`.

        While this runner's thread holds every named view, waits on its commits; otherwise
        (another process holds one) on the NOTIFYs of the views' commits, which the watcher's
        thread hears, reading the tracking table every `FALLBACK_POLL` s in case one was lost
        (every 20 ms while the watcher is not listening). False when `timeout` s pass first.
        """
        names = self._names if views is None else [self._view(name).name for name in views]
        deadline = time.monotonic() + timeout

        def holds_all() -> bool:
            return self.running and self._held.issuperset(names)

        def reached() -> bool:
            positions = self._positions
            return positions is not None and all(positions[n] >= position for n in names)

        while True:
            remaining = deadline - time.monotonic()
            if holds_all():
                with self._committed:
                    self._committed.wait_for(
                        lambda: not holds_all() or reached(), max(remaining, 0)
                    )
                    if holds_all() and reached():
                        return True
                    if holds_all():
                        return False  # timed out while holding the views
                continue  # lost a view meanwhile: hear of the commits instead
            if self._wait_elsewhere(names, position, deadline):
                return True
            if not holds_all():
                return False

    def _wait_elsewhere(self, names: Sequence[str], position: int, deadline: float) -> bool:
        """Wait for commits made by whichever runner holds the views; False at the deadline
        or as soon as this runner's thread holds them all (the caller then waits on it).

        While the watcher listens, what it has heard is complete (it read the table once its
        LISTEN was in place, and every later commit NOTIFYs it), so the table is read only in
        case a NOTIFY was lost (`FALLBACK_POLL`); otherwise every `POLL_TRACKING_EVERY`.
        """
        heard = self._watcher
        heard.start()
        read_at = time.monotonic() + FALLBACK_POLL if heard.listening else 0.0
        while True:
            if heard.reached(names, position):
                return True
            now = time.monotonic()
            if now >= read_at:
                heard.note(self._read_positions())
                if heard.reached(names, position):
                    return True
                now = time.monotonic()
                read_at = now + (FALLBACK_POLL if heard.listening else POLL_TRACKING_EVERY)
            remaining = deadline - now
            if remaining <= 0:
                return False
            if heard.wait(names, position, min(read_at - now, remaining)):
                return True
            if self.running and self._held.issuperset(names):
                return False

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
