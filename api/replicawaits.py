"""`?min_position` on a streaming replica: the wait watches the replica's own replayed tracking
rows, since a replica cannot LISTEN to the primary's NOTIFYs (a hot standby takes no LISTEN).

A reader waits here only once the primary's views have the position (heard of by NOTIFY, see
`api.serving.ViewWaits.target`), so the wait lasts the replica's replay lag, typically a few
milliseconds: its tracking rows are read every `POLL_REPLICA_EVERY` seconds meanwhile, once for
all of that replica's waiters (one short query on an index of a few rows); nobody waiting,
nothing is read. A replica that leaves rotation meanwhile (its read fails, or a
probe finds it down or lagging) ends the wait with None: the caller waits on the primary.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from projections.replicas import Replica, Replicas

log = logging.getLogger(__name__)

# Seconds between two reads of a replica's tracking rows while readers wait on it (only once
# the primary has the position: its replay is then a few milliseconds away).
POLL_REPLICA_EVERY = 0.005


class ReplicaWaits:
    """The waits of one event loop's readers on the replicas (see the module's docstring)."""

    def __init__(self, replicas: Replicas, names: Sequence[str]) -> None:
        """`names`: every view, read at once for every waiter whatever view it waits for."""
        self._replicas = replicas
        self._names = list(names)
        self._reads: dict[str, asyncio.Future[None]] = {}

    async def wait_for(
        self, replica: Replica, names: Sequence[str], position: int, timeout: float
    ) -> bool | None:
        """True once the replica has replayed every named view up to `position`; False when
        `timeout` s pass first; None as soon as the replica is out of rotation."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not replica.reached(names, position):
            if not replica.health.in_rotation:
                return None
            if loop.time() >= deadline:
                return False
            await self._read(replica)
            if replica.reached(names, position):
                break
            pause = min(POLL_REPLICA_EVERY, deadline - loop.time())
            if pause > 0:
                await asyncio.sleep(pause)
        return True

    async def _read(self, replica: Replica) -> None:
        """One read of the replica's positions for all its waiters (shielded: a waiter that is
        cancelled does not cancel the read the others wait on)."""
        loop = asyncio.get_running_loop()
        reading = self._reads.get(replica.url)
        if reading is None or reading.done() or reading.get_loop() is not loop:
            reading = self._reads[replica.url] = asyncio.ensure_future(self._read_once(replica))
        await asyncio.shield(reading)

    async def _read_once(self, replica: Replica) -> None:
        try:
            await asyncio.to_thread(replica.read_positions, self._names)
        except Exception as error:
            # Down, restarting or unreachable: out of rotation; the waiters go to the primary.
            self._replicas.failed(replica, error)
