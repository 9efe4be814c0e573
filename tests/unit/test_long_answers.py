"""The parts of the API's long answers (issue 13) without a server: the feed's wake-ups, the
readers' waits, the token checks of open streams, the cut-off of a stalled answer, the cap on
waits. The same behaviours over real sockets: tests/integration/test_hostile_availability.py."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Collection
from typing import Any
from uuid import UUID

import anyio
import pytest

from api.feed import Feed, Frames, Tail, Visible
from api.problems import ProblemError
from api.serving import ViewWaits
from api.streams import BoundedStreamingResponse
from api.tokens import TokenChecks
from application.access import Principal
from projections.waits import AsyncWaits
from projections.watcher import PositionWatcher


def _feed() -> Feed:
    # No channel: nothing to LISTEN to; the test bumps the feed itself.
    return Feed("", None, _nothing, lambda: 0, anyio.CapacityLimiter(1))


def _nothing(
    after: int, limit: int, projects: Collection[UUID] | None, until: int | None
) -> Frames:
    return []


def test_streams_cancelled_all_at_once_leave_the_next_one_woken_by_the_next_commit() -> None:
    async def scenario() -> tuple[bool, float]:
        feed = _feed()
        with feed.following():
            waiters = [asyncio.create_task(feed.wait(feed.generation, 30)) for _ in range(200)]
            await asyncio.sleep(0.01)
            for task in waiters[:100]:
                task.cancel()  # clients gone, all at once...
            feed._bump()  # ...while a commit wakes the others
            await asyncio.gather(*waiters, return_exceptions=True)
            generation = feed.generation
            later = asyncio.create_task(feed.wait(generation, 30))
            await asyncio.sleep(0.01)
            started = time.monotonic()
            feed._bump()
            woken = await later
            took = time.monotonic() - started
        await feed.close()
        return woken, took

    woken, took = asyncio.run(scenario())

    assert woken
    assert took < 0.5


def test_a_stream_waits_no_longer_than_asked_when_nothing_commits() -> None:
    async def scenario() -> tuple[bool, float]:
        feed = _feed()
        with feed.following():
            await asyncio.sleep(0.05)  # the tail's first read, which wakes the streams once
            started = time.monotonic()
            woken = await feed.wait(feed.generation, 0.1)
            took = time.monotonic() - started
        await feed.close()
        return woken, took

    woken, took = asyncio.run(scenario())

    assert not woken
    assert 0.09 <= took < 0.5


def test_the_tail_gives_what_follows_a_position_and_forgets_its_oldest_frames() -> None:
    tail = Tail(start=10)
    tail.extend([(11, "a", P), (13, "b", P), (14, "c", P)])

    assert tail.after(11, 10) == (["b", "c"], 14)
    assert tail.after(14, 10) == ([], 14)
    assert tail.after(10, 1) == (["a"], 11)
    assert not tail.covers(9)  # the store has what came before the tail

    tail.extend([(n, str(n), P) for n in range(15, 15 + 1000)])
    assert len(tail.frames) == 1000
    assert tail.start == 14  # forgot 11, 13 and 14: they are read from the store now


P, Q = UUID(int=1), UUID(int=2)


def test_a_members_view_of_the_tail_shows_its_projects_and_passes_the_others_once() -> None:
    tail = Tail(start=10)
    tail.extend([(11, "p1", P), (12, "q1", Q), (13, "p2", P), (14, "q2", Q), (15, "p3", P)])
    mine = Visible(frozenset({P}), until=14)

    assert tail.after(10, 10, mine) == (["p1", "p2"], 14)  # 15 is past what it may know
    assert tail.after(10, 1, mine) == (["p1"], 12)  # the next page starts after q1, not before
    assert tail.after(14, 10, mine) == ([], 14)
    assert tail.after(10, 10, Visible(frozenset({Q}))) == (["q1", "q2"], 15)


def _waits(read: Any = None) -> tuple[PositionWatcher, AsyncWaits]:
    watcher = PositionWatcher(lambda: "", lambda: ("public", {}))
    watcher.stop()  # no LISTEN thread: positions come from `note` and the table's `read`
    waits = AsyncWaits(watcher, lambda names, position: False, read or (lambda: {}))
    return watcher, waits


def test_every_waiter_is_woken_by_one_position_heard_on_another_thread() -> None:
    watcher, waits = _waits()

    async def scenario() -> list[bool]:
        waiting = [
            asyncio.create_task(waits.wait_for(["schedule"], 5, timeout=5)) for _ in range(50)
        ]
        await asyncio.sleep(0.05)
        waiting[0].cancel()  # one client gone meanwhile
        threading.Thread(target=watcher.note, args=({"schedule": 5},)).start()
        answers = await asyncio.gather(*waiting[1:])
        return list(answers)

    started = time.monotonic()
    answers = asyncio.run(scenario())

    assert answers == [True] * 49
    assert time.monotonic() - started < 1.0


def test_a_wait_ends_at_its_bound_and_reads_the_table_once_for_every_waiter() -> None:
    reads: list[float] = []

    def read() -> dict[str, int]:
        reads.append(time.monotonic())
        time.sleep(0.01)
        return {"schedule": 1}

    _, waits = _waits(read)

    async def scenario() -> list[bool]:
        return list(
            await asyncio.gather(*(waits.wait_for(["schedule"], 2, timeout=0.3) for _ in range(50)))
        )

    started = time.monotonic()
    answers = asyncio.run(scenario())
    took = time.monotonic() - started

    assert answers == [False] * 50
    assert 0.3 <= took < 1.0
    # Every 20 ms at most while nobody listens: ~15 reads for 50 waiters, not 50 × 15.
    assert len(reads) <= 0.3 / 0.02 + 2


def test_concurrent_checks_of_one_token_share_one_lookup_and_a_failed_one_refuses() -> None:
    looked_up: list[str] = []

    def authenticate(token: str) -> Principal | None:
        looked_up.append(token)
        time.sleep(0.05)
        if token == "broken":
            raise OSError("the database is away")
        return Principal("auditor") if token == "good" else None

    checks = TokenChecks(authenticate, anyio.CapacityLimiter(4))

    async def scenario() -> list[Principal | None]:
        good = await asyncio.gather(*(checks.principal("good") for _ in range(40)))
        return [*good, await checks.principal("revoked"), await checks.principal("broken")]

    answers = asyncio.run(scenario())

    assert answers[:40] == [Principal("auditor")] * 40
    assert answers[40:] == [None, None]
    assert looked_up == ["good", "revoked", "broken"]


def test_an_answer_whose_client_accepts_nothing_is_cut_off_and_its_source_closed() -> None:
    closed = threading.Event()
    sent: list[dict[str, Any]] = []

    async def body() -> AsyncIterator[str]:
        try:
            while True:
                yield "x" * 1000
        finally:
            closed.set()

    async def send(message: Any) -> None:
        sent.append(message)
        if len(sent) > 2:
            await asyncio.Event().wait()  # the client's buffers are full: no byte accepted

    response = BoundedStreamingResponse(
        body(), deadline=30, send_timeout=0.2, media_type="text/plain"
    )
    started = time.monotonic()
    asyncio.run(response.stream_response(send))
    took = time.monotonic() - started

    assert 0.2 <= took < 1.0
    assert closed.is_set()
    assert not any(m.get("more_body") is False for m in sent)  # never ended as if whole


def test_a_principal_over_its_share_of_waits_is_answered_429_at_once() -> None:
    _, waits = _waits()
    capped = ViewWaits(waits, lambda views: views, per_principal=2)

    async def scenario() -> list[Any]:
        return list(
            await asyncio.gather(
                *(capped.caught_up("loner", "schedule", 10**9) for _ in range(3)),
                return_exceptions=True,
            )
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("api.serving.MIN_POSITION_WAIT", 0.2)
        answers = asyncio.run(scenario())

    statuses = sorted(a.status for a in answers if isinstance(a, ProblemError))
    assert statuses == [429, 503, 503]
    assert all(a.headers["Retry-After"] == "1" for a in answers if isinstance(a, ProblemError))
