"""Wakes the Server-Sent-Event streams of the feed when events commit: one LISTEN per process.

Every save NOTIFYs the events table's channel inside its transaction, so the notification is
delivered only once the events are visible. A stream notes `generation` *before* it reads the
feed, then waits for a later generation: a commit between its read and its wait still wakes it.
The wait is bounded (the stream's keep-alive), so a lost notification delays, never loses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

RECONNECT_AFTER = 1.0  # seconds before the listener reconnects after losing its connection


class FeedNotifier:
    """Counts the NOTIFYs of one channel and wakes the coroutines waiting for the next one."""

    def __init__(self, conninfo: str, channel: str | None) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self.generation = 0
        self._changed: asyncio.Condition | None = None
        self._listening: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Listen from now on (idempotent); returns once LISTEN is in place or has failed."""
        if self._task is None:
            self._changed = asyncio.Condition()
            self._listening = asyncio.Event()
            self._task = asyncio.create_task(self._listen(), name="feed-listener")
        assert self._listening is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), RECONNECT_AFTER)

    async def wait_after(self, generation: int, timeout: float) -> bool:
        """True once a NOTIFY later than `generation` has arrived; False after `timeout` s."""
        await self.start()
        assert self._changed is not None
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.generation > generation), timeout
                )
            except TimeoutError:
                return False
            return True

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("feed listener lost its connection; reconnecting", exc_info=True)
            await self._bump()  # whatever happened meanwhile, let streams read once more
            await asyncio.sleep(RECONNECT_AFTER)

    async def _listen_once(self) -> None:
        assert self._listening is not None
        if self._channel is None:  # a store that does not NOTIFY: streams poll on their timeout
            self._listening.set()
            await asyncio.Event().wait()
            return
        async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
            self._listening.set()
            async for _ in conn.notifies():
                await self._bump()

    async def _bump(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self.generation += 1
            self._changed.notify_all()
