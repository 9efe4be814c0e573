"""The live tail of the global feed, read once per commit for every event stream of a process.

One LISTEN per process on the events' channel: every save NOTIFYs inside its transaction, so
the notification arrives once the events are visible. While any stream is open, one task reads
the events committed since it last read (one query per burst of commits, whatever the number
of streams), renders each once as its Server-Sent-Events frame and keeps the latest
`TAIL_MAX` of them; then it wakes every stream at once. A stream takes from the tail what it
has not sent yet; only a stream behind the tail (a backlog, a slow reader) reads the store
itself, a page at a time under the process's limiter of bulk reads.

Wake-ups are a generation counter and an `asyncio.Event` swapped at each bump: a stream notes
the generation *before* it reads, then waits for a later one, so a commit between its read and
its wait still wakes it; waiting holds no lock, so any number of streams may be cancelled or
time out at once and leave nothing held. The tail task also reads every `RECHECK_TAIL`
seconds, so a lost notification delays, never loses.

Commit order is position order (the store's ordering lock), so every event at or below the
last position the tail read is there already: the tail is complete from its `start`.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from uuid import UUID

import anyio
import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

RECONNECT_AFTER = 1.0  # seconds before the listener reconnects after losing its connection
RECHECK_TAIL = 5.0  # seconds between reads of the tail when no notification comes
TAIL_PAGE = 500  # events per read of the tail
TAIL_MAX = 1000  # frames kept; a stream further behind reads the store

# (position, its SSE frame, its project), in position order
Frames = list[tuple[int, str, UUID]]
# (after, limit, only these projects or every one, at or below this position or any) -> the
# frames of the next events
ReadFrames = Callable[[int, int, Collection[UUID] | None, int | None], Frames]


@dataclass(frozen=True)
class Visible:
    """What a member's stream shows: the events of `projects`, at or below `until` (the
    position its projects were read at; None: any)."""

    projects: frozenset[UUID]
    until: int | None = None


@dataclass
class Tail:
    """The frames of every event after `start`, as far as the tail task has read."""

    start: int
    positions: list[int] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    projects: list[UUID] = field(default_factory=list)

    @property
    def last(self) -> int:
        return self.positions[-1] if self.positions else self.start

    def covers(self, after: int) -> bool:
        return after >= self.start

    def after(
        self, position: int, limit: int, visible: Visible | None = None
    ) -> tuple[list[str], int]:
        """Up to `limit` frames after `position` (only `visible` ones when given), and the
        position the reader has seen up to: the last frame's, or for a member the last
        position it looked at (the frames it may not see are passed over, once)."""
        first = bisect.bisect_right(self.positions, position)
        if visible is None:
            taken = self.frames[first : first + limit]
            return taken, (self.positions[first + len(taken) - 1] if taken else position)
        taken, seen = [], position
        for index in range(first, len(self.positions)):
            at = self.positions[index]
            if visible.until is not None and at > visible.until:
                break
            if self.projects[index] in visible.projects:
                if len(taken) == limit:
                    break
                taken.append(self.frames[index])
            seen = at
        return taken, seen

    def extend(self, frames: Frames) -> None:
        for position, frame, project in frames:
            if position > self.last:
                self.positions.append(position)
                self.frames.append(frame)
                self.projects.append(project)
        extra = len(self.positions) - TAIL_MAX
        if extra > 0:
            self.start = self.positions[extra - 1]
            del self.positions[:extra]
            del self.frames[:extra]
            del self.projects[:extra]


class Feed:
    """The feed's tail and the wake-ups of the streams that follow it (one per app)."""

    def __init__(
        self,
        conninfo: str,
        channel: str | None,
        read: ReadFrames,
        head: Callable[[], int],
        bulk: anyio.CapacityLimiter,
    ) -> None:
        """`read(after, limit)` renders the next events from the store; `head()` is the last
        position of the log; `bulk` limits the store reads of streams behind the tail."""
        self._conninfo = conninfo
        self._channel = channel
        self._read = read
        self._head = head
        self._bulk = bulk
        self.generation = 0
        self.draining = False
        self._subscribers = 0
        self._tail: Tail | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed = asyncio.Event()
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._own = anyio.CapacityLimiter(1)  # the tail task's reads: never behind the bulk

    # --- what a stream calls -------------------------------------------------------------

    @contextlib.contextmanager
    def following(self) -> Iterator[None]:
        """While a stream is open: the tail is read for it (started on first use)."""
        self._start()
        self._subscribers += 1
        self._dirty.set()
        try:
            yield
        finally:
            self._subscribers -= 1

    async def frames_after(
        self, after: int, limit: int, visible: Visible | None = None
    ) -> tuple[list[str], int]:
        """Up to `limit` frames of the events after position `after` (of `visible` only when
        given), and the position read up to (`after` when there is nothing yet): from the tail
        when it covers `after`, else from the store."""
        tail = self._tail
        if tail is not None and tail.covers(after):
            return tail.after(after, limit, visible)
        projects, until = (None, None) if visible is None else (visible.projects, visible.until)
        frames = await anyio.to_thread.run_sync(
            self._read, after, limit, projects, until, limiter=self._bulk
        )
        shown = [frame for _, frame, _ in frames]
        if frames:
            return shown, frames[-1][0]
        # Nothing of the member's up to `until`: it need not look below it again.
        return shown, max(after, until or 0)

    async def wait(self, generation: int, timeout: float) -> bool:
        """True once the generation is past `generation` (the tail moved, or the feed is
        draining); False after `timeout` s."""
        changed = self._changed
        if self.generation > generation:
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(timeout, 0)):
                await changed.wait()
        return self.generation > generation

    # --- the process's side --------------------------------------------------------------

    def drain(self) -> None:
        """The process is stopping: wake every stream so that it ends (they resume elsewhere
        with Last-Event-ID)."""
        self.draining = True
        self._bump()

    async def close(self) -> None:
        self.drain()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop and self._tasks:
            return
        # First use, or a test's second event loop: nothing of the old one carries over.
        self._loop = loop
        self._changed = asyncio.Event()
        self._dirty = asyncio.Event()
        self._tail = None
        self._tasks = [
            loop.create_task(self._listen(), name="feed-listener"),
            loop.create_task(self._follow(), name="feed-tail"),
        ]

    def _bump(self) -> None:
        self.generation += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _follow(self) -> None:
        """Read the new events whenever told (a NOTIFY, a new stream) while streams are open."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RECHECK_TAIL):
                    await self._dirty.wait()
            self._dirty.clear()
            if self._subscribers == 0:
                self._tail = None  # nobody follows: stop reading; start afresh for the next
                continue
            try:
                await self._read_tail()
            except Exception:
                # Streams read the store meanwhile (a tail they cannot trust is dropped).
                log.warning("reading the feed's tail failed; retrying", exc_info=True)
                self._tail = None
                await asyncio.sleep(RECONNECT_AFTER)
                self._dirty.set()
            self._bump()

    async def _read_tail(self) -> None:
        if self._tail is None:
            head = await anyio.to_thread.run_sync(self._head, limiter=self._own)
            self._tail = Tail(start=head)
        tail = self._tail
        while True:
            frames = await anyio.to_thread.run_sync(
                self._read, tail.last, TAIL_PAGE, None, None, limiter=self._own
            )
            tail.extend(frames)
            if len(frames) < TAIL_PAGE:
                return

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
            except Exception:
                log.warning("feed listener lost its connection; reconnecting", exc_info=True)
            self._dirty.set()  # whatever happened meanwhile, read the tail once more
            await asyncio.sleep(RECONNECT_AFTER)

    async def _listen_once(self) -> None:
        if self._channel is None:  # a store that does not NOTIFY: the tail is read on a timer
            await asyncio.Event().wait()
            return
        async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            self._dirty.set()  # what committed before the LISTEN was not announced
            async for _ in conn.notifies():
                self._dirty.set()
