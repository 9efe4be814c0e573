"""What one API process serves its long answers with, beside the container: the feed's tail,
the readers' waits for the views, the token checks of open streams, the limiter of bulk reads,
and the signal that the process is stopping.

Made with the app and used on its event loop; nothing here blocks a worker thread while it
waits. Built lazily, so an app that serves no such request opens nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import anyio

from api.bootstrap import Container
from api.feed import Feed, ReadFrames
from api.middleware import arrived
from api.problems import ProblemError
from api.reading import Reading, Target
from api.replicawaits import ReplicaWaits
from api.tokens import TokenChecks
from api.webhooks.noticer import notice_json
from api.webhooks.noticetail import NoticeTail
from projections.waits import AsyncWaits

log = logging.getLogger(__name__)

# How long a read with ?min_position waits for the views before answering 503 (SPEC §3).
MIN_POSITION_WAIT = 5.0
# Once the primary's views have the position, how long a replica is given to replay it before
# the primary answers instead.
REPLICA_GRACE = 1.0


class Serving:
    """The async side of one API process (see the module's docstring)."""

    def __init__(self, container: Container, render: ReadFrames) -> None:
        """`render(after, limit, projects, until)` reads and renders the feed's next events
        (the route's)."""
        self._container = container
        self._render = render
        self._feed: Feed | None = None
        self._notices: NoticeTail | None = None
        self._waits: ViewWaits | None = None
        self._tokens: TokenChecks | None = None
        self._bulk: anyio.CapacityLimiter | None = None
        self._probes: anyio.CapacityLimiter | None = None
        self._signals: dict[int, Any] = {}

    @property
    def bulk(self) -> anyio.CapacityLimiter:
        """The reads of exports and of event streams behind the tail: at most
        `MILESTONES_STREAM_CONNECTIONS` at once in the process, each one page."""
        if self._bulk is None:
            self._bulk = anyio.CapacityLimiter(self._container.settings.stream_connections)
        return self._bulk

    @property
    def probes(self) -> anyio.CapacityLimiter:
        """The threads of `/ready`'s checks: never queued behind the requests' threads."""
        if self._probes is None:
            self._probes = anyio.CapacityLimiter(2)
        return self._probes

    @property
    def notices(self) -> NoticeTail:
        """R20's notices for the event streams (`api.webhooks.noticetail`)."""
        if self._notices is None:
            store = self._container.webhook_store
            self._notices = NoticeTail(store.notices_after, store.last_notice_id, notice_json)
        return self._notices

    @property
    def feed(self) -> Feed:
        if self._feed is None:
            ledger = self._container.ledger
            channel: str | None = getattr(ledger.recorder, "channel_name", None)
            self._feed = Feed(
                self._container.database_url,
                channel,
                self._render,
                lambda: ledger.recorder.max_notification_id() or 0,
                self.bulk,
            )
        return self._feed

    @property
    def waits(self) -> ViewWaits:
        if self._waits is None:
            runner = self._container.runner
            reading = self._container.reading
            self._waits = ViewWaits(
                runner.async_waits(),
                runner.view_names,
                self._container.settings.waits_per_principal,
                reading,
                ReplicaWaits(reading.replicas, runner.names),
            )
        return self._waits

    @property
    def tokens(self) -> TokenChecks:
        if self._tokens is None:
            self._tokens = TokenChecks(
                self._container.principals.authenticate,
                anyio.CapacityLimiter(2),  # lookups of stream tokens, never behind requests'
            )
        return self._tokens

    # --- stopping ----------------------------------------------------------------------------

    def hear_stop_signals(self) -> None:
        """On SIGTERM or SIGINT end the event streams at once, before the server drains.

        The server (uvicorn) lets in-flight requests finish for `MILESTONES_SHUTDOWN_TIMEOUT`
        once signalled; an event stream never finishes by itself, so it would hold the
        shutdown for all that time. The server's own handler still runs after ours. Only the
        main thread may handle signals (an app served from another thread, in tests, ends
        its streams on shutdown instead).
        """
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)
            if not callable(previous):
                continue  # no server handles it: the default action ends the process anyway

            def handle(number: int, frame: FrameType | None, previous: Any = previous) -> None:
                with contextlib.suppress(RuntimeError):  # the loop is closed already
                    loop.call_soon_threadsafe(self.drain)
                previous(number, frame)

            self._signals[signum] = previous
            signal.signal(signum, handle)

    def drain(self) -> None:
        if self._feed is not None:
            log.info("stopping: ending the open event streams")
            self._feed.drain()

    async def close(self) -> None:
        for signum, previous in self._signals.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, previous)
        self._signals.clear()
        if self._feed is not None:
            await self._feed.close()
        if self._waits is not None:
            self._waits.close()


class ViewWaits:
    """`?min_position` waits on the event loop, at most `per_principal` at once for each
    principal: a wait costs no thread, but each is a request held open for up to 5 s.

    `target` also chooses where the read then goes (`api.reading`): on a replica the wait is
    for the primary's views first (a replica is never ahead of them), then for the replica's
    replayed positions, for at most `REPLICA_GRACE` s; a replica that leaves rotation or is
    still behind then leaves the read to the primary, which has the position."""

    def __init__(
        self,
        waits: AsyncWaits,
        names: Callable[[list[str]], list[str]],
        per_principal: int,
        reading: Reading | None = None,
        on_replicas: ReplicaWaits | None = None,
    ) -> None:
        """Without `reading` (tests of the waits alone) only `caught_up` may be used."""
        self._waits = waits
        self._names = names
        self._per_principal = per_principal
        self._reading = reading
        self._on_replicas = on_replicas
        self._waiting: Counter[str] = Counter()

    async def caught_up(self, principal: str, view: str, position: int | None) -> None:
        """Return once the view has applied `position` on the primary (at once when None); 429
        when the principal already has its share of waits, 503 when 5 s pass first (counted
        from the request's arrival)."""
        if position is None:
            return
        names = self._names([view])
        if self._waits.reached(names, position):
            return
        self._admit(principal)
        with self._counted(principal):
            reached = await self._waits.wait_for(names, position, _remaining())
        if not reached:
            raise _lagging(view, position)

    async def target(self, principal: str, view: str, position: int | None) -> Target:
        """Where a read of `view` goes (a replica in rotation, else the primary), once it has
        applied `position` there; 429 and 503 as `caught_up`."""
        reading, on_replicas = self._reading, self._on_replicas
        if reading is None or on_replicas is None:
            raise RuntimeError("these waits were made without a read chooser")
        target = reading.choose()
        replica = target.replica
        if replica is None:
            await self.caught_up(principal, view, position)
            return target
        if position is None:
            return target
        names = self._names([view])
        if replica.reached(names, position):
            return target
        self._admit(principal)
        with self._counted(principal):
            # The replica cannot have it before the primary does: wait for the primary's
            # NOTIFY first (no polling), then poll the replica for its replay.
            reached = self._waits.reached(names, position) or await self._waits.wait_for(
                names, position, _remaining()
            )
            if not reached:
                raise _lagging(view, position)
            grace = min(REPLICA_GRACE, _remaining())
            if not await on_replicas.wait_for(replica, names, position, grace):
                target = reading.primary  # out of rotation, or slow: the primary has it
        return target

    def _admit(self, principal: str) -> None:
        if self._waiting[principal] >= self._per_principal:
            raise ProblemError(
                429,
                "Too many waits",
                f"at most {self._per_principal} reads with min_position may wait at once for"
                " one principal; retry when one has been answered",
                slug="too-many-waits",
                headers={"Retry-After": "1"},
            )

    @contextlib.contextmanager
    def _counted(self, principal: str) -> Iterator[None]:
        self._waiting[principal] += 1
        try:
            yield
        finally:
            self._waiting[principal] -= 1
            if self._waiting[principal] <= 0:
                del self._waiting[principal]

    def close(self) -> None:
        self._waits.close()


def _remaining() -> float:
    """What is left of the 5 s, counted from the request's arrival: time spent queueing for
    authentication counts."""
    since = arrived.get()
    waited = 0.0 if since is None else time.monotonic() - since
    return MIN_POSITION_WAIT - waited


def _lagging(view: str, position: int) -> ProblemError:
    return ProblemError(
        503,
        "View not caught up",
        f"the {view} view has not yet processed position {position}",
        slug="view-lagging",
        headers={"Retry-After": "1"},
    )
