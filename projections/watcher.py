"""Tells readers in any process when the views commit: one LISTEN connection per process.

Every page the runner commits sends a NOTIFY on `CHANNEL` inside its transaction (so it is
delivered only once the page is visible) with the schema of the views (tests and rebuilds keep
views in other schemas of the same database), the position the page reached and the views it
moved. The watcher's thread keeps, per view, the highest position it has heard of and wakes
the readers waiting for one (`ProjectionRunner.wait_for`). A view's committed position never
goes backwards (a rebuild swaps in a view caught up at least as far), so a position heard of
is a lower bound of the committed one: a reader released by it never misses an event.

A NOTIFY can be lost (the connection drops, the server restarts); readers therefore also read
the tracking table now and then (`FALLBACK_POLL`), and the thread reopens a lost connection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

# The channel of the views' commits (the events have their own: the store's).
CHANNEL = "milestones_views"
# The watcher's session in pg_stat_activity.
APPLICATION_NAME = "milestones-view-watcher"
# How long the thread waits for a NOTIFY before it checks whether it should stop.
STOP_SLICE = 0.25
# After losing its connection the thread waits this long, doubling up to the maximum.
RECONNECT_FIRST = 0.1
RECONNECT_MAX = 2.0
# A quiet connection is proven alive this often.
PROVE_EVERY = 2.0


# Sent in the page's transaction: `current_schema()` is where its views are.
NOTIFY = "SELECT pg_notify(%s, concat_ws(' ', current_schema(), %s::text))"


def notify(cur: psycopg.Cursor[Any], position: int, names: Sequence[str]) -> None:
    """Announce, at commit, that the views `names` have reached `position`."""
    cur.execute(NOTIFY, (CHANNEL, " ".join([str(position), *names])))


def parse(text: str, schema: str) -> dict[str, int]:
    """The positions a payload announces for the views in `schema`; nothing for another
    schema or a payload it cannot read."""
    words = text.split(" ")
    if len(words) < 2 or words[0] != schema:
        return {}
    try:
        position = int(words[1])
    except ValueError:
        return {}
    return dict.fromkeys(words[2:], position)


class PositionWatcher:
    """The views' positions as this process last heard of them, kept by a LISTEN thread."""

    def __init__(
        self, conninfo: Callable[[], str], read: Callable[[], tuple[str, dict[str, int]]]
    ) -> None:
        """`read()` gives the views' schema and their positions, read from the table."""
        self._conninfo = conninfo
        self._read = read
        self._positions: dict[str, int] = {}
        self._changed = threading.Condition()
        self._listening = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._start_lock = threading.Lock()
        self._closed = False  # stopped by its owner: not restarted by a waiting reader
        # Called (from whichever thread noted it) each time a position moves: how readers on
        # an event loop hear of it (`projections.waits.AsyncWaits`).
        self._listeners: list[Callable[[], None]] = []

    @property
    def listening(self) -> bool:
        """True while the thread's LISTEN is in place (NOTIFYs are being heard)."""
        return self._listening

    def start(self) -> None:
        """Start the thread unless it runs or was stopped (idempotent, cheap: call it before
        each wait). Once stopped, readers poll the table: the process is shutting down."""
        if self._closed or (self._thread is not None and self._thread.is_alive()):
            return
        with self._start_lock:
            if self._closed or (self._thread is not None and self._thread.is_alive()):
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="view-watcher", daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._closed = True
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def reopen(self) -> None:
        """Allow `start` again after a `stop` (the owner started again)."""
        self._closed = False

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener()` whenever a position moves; it must return at once."""
        self._listeners = [*self._listeners, listener]

    def remove_listener(self, listener: Callable[[], None]) -> None:
        self._listeners = [known for known in self._listeners if known is not listener]

    def note(self, positions: Mapping[str, int]) -> None:
        """Record positions known to be committed (heard of, or read from the table)."""
        with self._changed:
            moved = False
            for name, position in positions.items():
                if position > self._positions.get(name, -1):
                    self._positions[name] = position
                    moved = True
            if moved:
                self._changed.notify_all()
        if moved:
            for listener in self._listeners:
                listener()

    def reached(self, names: Sequence[str], position: int) -> bool:
        positions = self._positions
        return all(positions.get(name, -1) >= position for name in names)

    def wait(self, names: Sequence[str], position: int, timeout: float) -> bool:
        """Wait at most `timeout` s for news that every named view has reached `position`."""
        with self._changed:
            return self._changed.wait_for(lambda: self.reached(names, position), timeout)

    # --- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = RECONNECT_FIRST
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    self._conninfo(), autocommit=True, application_name=APPLICATION_NAME
                ) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    # Whatever committed before the LISTEN was not announced to us: read it.
                    schema, positions = self._read()
                    self.note(positions)
                    self._listening = True
                    backoff = RECONNECT_FIRST
                    self._listen(conn, schema)
            except Exception:
                log.warning("view watcher lost its connection; reconnecting", exc_info=True)
            finally:
                self._listening = False
            self._stop.wait(backoff)
            backoff = min(backoff * 2, RECONNECT_MAX)

    def _listen(self, conn: psycopg.Connection[Any], schema: str) -> None:
        proven = time.monotonic()
        while not self._stop.is_set():
            heard: dict[str, int] = {}
            # A burst of commits: take every NOTIFY waiting, then wake the readers once.
            # (Exhaust each generator: it holds the connection's lock until it ends.)
            for notify in conn.notifies(timeout=STOP_SLICE, stop_after=1):
                _merge(heard, parse(notify.payload, schema))
            if heard:
                for notify in conn.notifies(timeout=0):
                    _merge(heard, parse(notify.payload, schema))
                self.note(heard)
                proven = time.monotonic()
            elif time.monotonic() - proven > PROVE_EVERY:
                # Quiet for a while: prove the connection is alive (a silent drop would
                # otherwise go unnoticed, and readers would fall back on polling).
                conn.execute("SELECT 1")
                proven = time.monotonic()


def _merge(into: dict[str, int], positions: Mapping[str, int]) -> None:
    for name, position in positions.items():
        if position > into.get(name, -1):
            into[name] = position
