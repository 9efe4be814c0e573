"""A reader's wait until views have applied a position (`?min_position`): on this runner's own
commits while its thread holds the views, else on the NOTIFYs of whichever runner holds them.

`Waits` blocks its thread (the runner's callers, tests, the CLI); `AsyncWaits` is the same wait
on an event loop, for the API, where a waiting request must not cost a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

from projections.committed import Committed
from projections.watcher import PositionWatcher

# How often a wait reads the tracking table when no runner works in this process and the
# watcher is not listening; while it listens, NOTIFYs wake the readers, and they read the table
# only this often in case one was lost.
POLL_TRACKING_EVERY = 0.02
FALLBACK_POLL = 0.25

log = logging.getLogger(__name__)


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


class AsyncWaits:
    """The waits of readers on one event loop: a waiting reader is a coroutine, not a thread.

    One fan-out for every waiter: the watcher's thread calls back on each position it notes,
    which swaps in a fresh `asyncio.Event` and sets the old one, waking every waiter at once.
    Nothing is locked, so a waiter cancelled or timed out at any moment leaves nothing held
    (an `asyncio.Condition` makes each woken or cancelled waiter re-take its lock). The
    tracking table is read by one waiter at a time for all of them (in a thread), only as
    often as `Waits` reads it: in case a NOTIFY was lost, or while the watcher is not listening.
    """

    def __init__(
        self,
        watcher: PositionWatcher,
        reached_here: Callable[[Sequence[str], int], bool],
        read: Callable[[], dict[str, int]],
    ) -> None:
        """`reached_here(names, position)` says whether this process's runner has committed
        them (False when it does not hold them); `read()` reads the tracking table."""
        self._watcher = watcher
        self._reached_here = reached_here
        self._read = read
        self._loop: asyncio.AbstractEventLoop | None = None
        self._moved = asyncio.Event()
        self._reading: asyncio.Future[None] | None = None
        self._read_at = 0.0
        watcher.add_listener(self._heard)

    def close(self) -> None:
        """Stop hearing of the watcher (the app that owned these waits is gone)."""
        self._watcher.remove_listener(self._heard)

    def reached(self, names: Sequence[str], position: int) -> bool:
        """True when every named view is known to have applied `position` (no waiting)."""
        return self._reached_here(names, position) or self._watcher.reached(names, position)

    async def wait_for(self, names: Sequence[str], position: int, timeout: float) -> bool:
        """True once every named view has applied `position`; False when `timeout` s pass
        first."""
        loop = self._bind()
        deadline = loop.time() + timeout
        self._watcher.start()
        while not self.reached(names, position):
            now = loop.time()
            if now >= deadline:
                return False
            every = FALLBACK_POLL if self._watcher.listening else POLL_TRACKING_EVERY
            if now >= self._read_at + every:
                await self._read_table()
                continue
            # No await since the check: a wake-up the watcher schedules after it sets this one.
            moved = self._moved
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(deadline, self._read_at + every) - now):
                    await moved.wait()
        return True

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a test's second event loop: nothing carries over
            self._loop = loop
            self._moved = asyncio.Event()
            self._reading = None
        return loop

    def _heard(self) -> None:
        """From any thread: a position moved; wake every waiter on the loop."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def _read_table(self) -> None:
        """Read the tracking table once for every waiter that needs it now (shielded: one
        waiter's cancellation does not cancel the read the others wait on)."""
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(self._read_once())
        await asyncio.shield(self._reading)

    async def _read_once(self) -> None:
        assert self._loop is not None
        try:
            positions = await asyncio.to_thread(self._read)
        except Exception:
            # The database is away: waiters keep waiting (and answer at their deadline).
            log.debug("reading the views' positions failed", exc_info=True)
            positions = {}
        finally:
            self._read_at = self._loop.time()
        self._watcher.note(positions)
