"""The notices (R20) an API process's event streams send: one read of new notices every
`REFRESH` seconds at most for the whole process, whatever the number of streams.

A stream starts at the last notice raised when it connects and sends the later ones as
`event: notice` frames with no `id`, so `Last-Event-ID` stays a position of the log: notices
on a stream are live only (a subscriber that must not miss one uses a webhook).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from uuid import UUID

import anyio

from application.webhooks import RaisedNotice

log = logging.getLogger(__name__)

REFRESH = 2.0  # seconds between two reads of new notices
KEPT = 1000  # frames kept for streams

ReadNotices = Callable[[int, int], list[RaisedNotice]]


class NoticeTail:
    def __init__(
        self, read: ReadNotices, last: Callable[[], int], render: Callable[[RaisedNotice], str]
    ) -> None:
        self._read = read
        self._last = last
        self._render = render
        self._start: int | None = None
        self._ids: list[int] = []
        self._frames: list[str] = []
        self._projects: list[UUID] = []
        self._read_at = 0.0
        self._lock: asyncio.Lock | None = None
        self._own = anyio.CapacityLimiter(1)

    @property
    def head(self) -> int:
        return self._ids[-1] if self._ids else (self._start or 0)

    async def start(self) -> int:
        """Where a new stream starts: the last notice raised now."""
        await self._refresh()
        return self.head

    async def after(self, cursor: int, projects: frozenset[UUID] | None = None) -> tuple[str, int]:
        """The frames of the notices after `cursor` (joined; of `projects` only, when given:
        a member's stream), and the new cursor."""
        await self._refresh()
        frames = [
            f
            for i, f, p in zip(self._ids, self._frames, self._projects, strict=True)
            if i > cursor and (projects is None or p in projects)
        ]
        return "".join(frames), max(cursor, self.head)

    async def _refresh(self) -> None:
        if time.monotonic() - self._read_at < REFRESH:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if time.monotonic() - self._read_at < REFRESH:
                return
            self._read_at = time.monotonic()  # a failed read is not retried before REFRESH
            try:
                if self._start is None:
                    self._start = await anyio.to_thread.run_sync(self._last, limiter=self._own)
                raised = await anyio.to_thread.run_sync(
                    self._read, self.head, 500, limiter=self._own
                )
            except Exception:
                # The streams go on with the events; notices come with a later read.
                log.warning("reading milestone notices failed", exc_info=True)
                return
            for item in raised:
                self._ids.append(item.id)
                self._frames.append(f"event: notice\ndata: {self._render(item)}\n\n")
                self._projects.append(item.notice.project_id)
            del self._ids[:-KEPT], self._frames[:-KEPT], self._projects[:-KEPT]
