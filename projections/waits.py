"""A reader's wait until views have applied a position (`?min_position`): on this runner's own
commits while its thread holds the views, else on the NOTIFYs of whichever runner holds them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from projections.committed import Committed
from projections.watcher import PositionWatcher

# How often a wait reads the tracking table when no runner works in this process and the
# watcher is not listening; while it listens, NOTIFYs wake the readers, and they read the table
# only this often in case one was lost.
POLL_TRACKING_EVERY = 0.02
FALLBACK_POLL = 0.25


class Waits:
    """The waits of the readers of one runner's views."""

    def __init__(
        self,
        committed: Committed,
        watcher: PositionWatcher,
        read: Callable[[], dict[str, int]],
        running: Callable[[], bool],
    ) -> None:
        """`read()` gives the views' positions from the tracking table; `running()` says
        whether the runner's thread runs."""
        self._committed = committed
        self._watcher = watcher
        self._read = read
        self._running = running

    def wait_for(self, names: Sequence[str], position: int, timeout: float) -> bool:
        """True once every named view has applied `position`; False when `timeout` s pass
        first.

        While the runner's thread holds every named view, waits on its commits; otherwise
        (another process holds one) on the NOTIFYs of the views' commits, which the watcher's
        thread hears, reading the tracking table every `FALLBACK_POLL` s in case one was lost
        (every `POLL_TRACKING_EVERY` s while the watcher is not listening).
        """
        committed = self._committed
        deadline = time.monotonic() + timeout

        def holds_all() -> bool:
            return self._running() and committed.held.issuperset(names)

        while True:
            remaining = deadline - time.monotonic()
            if holds_all():
                with committed.changed:
                    committed.changed.wait_for(
                        lambda: not holds_all() or committed.reached(names, position),
                        max(remaining, 0),
                    )
                    if holds_all() and committed.reached(names, position):
                        return True
                    if holds_all():
                        return False  # timed out while holding the views
                continue  # lost a view meanwhile: hear of the commits instead
            if self._wait_elsewhere(names, position, deadline, holds_all):
                return True
            if not holds_all():
                return False

    def _wait_elsewhere(
        self,
        names: Sequence[str],
        position: int,
        deadline: float,
        holds_all: Callable[[], bool],
    ) -> bool:
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
                heard.note(self._read())
                if heard.reached(names, position):
                    return True
                now = time.monotonic()
                read_at = now + (FALLBACK_POLL if heard.listening else POLL_TRACKING_EVERY)
            remaining = deadline - now
            if remaining <= 0:
                return False
            if heard.wait(names, position, min(read_at - now, remaining)):
                return True
            if holds_all():
                return False
