"""Group commit: concurrent saves share a transaction, yet each command keeps its own fate."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from application.groupcommit import GroupCommit, Pending


class FakeStore:
    """Records each transaction's saves; refuses a transaction holding a project in `clashes`.

    `hold` keeps the first transaction open until released, so that saves pile up behind it.
    """

    def __init__(self) -> None:
        self.transactions: list[list[str]] = []
        self.clashes: set[str] = set()
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()
        self.position = 0

    def record(self, batch: Sequence[Pending]) -> list[Any]:
        self.entered.set()
        self.hold.wait(5)
        names = [str(pending.project_id) for pending in batch]
        if self.clashes & set(names):
            raise IntegrityError("version clash")
        self.transactions.append(names)
        recordings = []
        for pending in batch:
            for event in pending.events:
                self.position += 1
                recordings.append((event, self.position))
        return recordings


def events_of(recordings: Any) -> list[Any]:
    """The events of the fake store's (event, position) recordings."""
    return [event for event, _ in recordings]


def wait_until(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the saves to queue up"
        time.sleep(0.001)


def pending(name: str, events: int = 1) -> Pending:
    return Pending(name, object(), [f"{name}:{i}" for i in range(events)], {})


def save_in_threads(commits: GroupCommit, items: list[Pending]) -> dict[str, Any]:
    outcomes: dict[str, Any] = {}

    def save(item: Pending) -> None:
        try:
            outcomes[str(item.project_id)] = commits.save(item)
        except Exception as error:
            outcomes[str(item.project_id)] = error

    threads = [threading.Thread(target=save, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return outcomes


def test_a_save_alone_is_written_at_once_in_its_own_transaction() -> None:
    store = FakeStore()
    recordings: list[Any] = GroupCommit(store.record).save(pending("a", events=2))
    assert recordings == [("a:0", 1), ("a:1", 2)]
    assert store.transactions == [["a"]]


def test_saves_arriving_during_a_transaction_share_the_next_one() -> None:
    store = FakeStore()
    commits = GroupCommit(store.record)
    store.hold.clear()
    first = threading.Thread(target=commits.save, args=(pending("first"),))
    first.start()
    store.entered.wait(5)
    waiting = [pending(f"p{i}", events=2) for i in range(5)]
    threads = [threading.Thread(target=commits.save, args=(item,)) for item in waiting]
    for thread in threads:
        thread.start()
    wait_until(lambda: commits.queued == 5)  # all five wait behind the first transaction
    store.hold.set()
    for thread in [first, *threads]:
        thread.join(10)
    assert store.transactions[0] == ["first"]
    assert sorted(store.transactions[1]) == [f"p{i}" for i in range(5)]
    # Each command gets exactly its own events' recordings, in order.
    for item in waiting:
        assert events_of(item.recordings) == list(item.events)


def test_two_saves_of_one_project_never_share_a_transaction() -> None:
    store = FakeStore()
    commits = GroupCommit(store.record)
    store.hold.clear()
    first = threading.Thread(target=commits.save, args=(pending("x"),))
    first.start()
    store.entered.wait(5)
    same = [Pending("p", object(), [f"p{i}"], {}) for i in range(3)]
    threads = [threading.Thread(target=commits.save, args=(item,)) for item in same]
    for thread in threads:
        thread.start()
    wait_until(lambda: commits.queued == 3)
    store.hold.set()
    for thread in [first, *threads]:
        thread.join(10)
    assert all(transaction.count("p") <= 1 for transaction in store.transactions)
    assert sum(transaction.count("p") for transaction in store.transactions) == 3


def test_a_clash_in_a_shared_transaction_fails_only_the_clashing_command() -> None:
    store = FakeStore()
    commits = GroupCommit(store.record)
    store.hold.clear()
    first = threading.Thread(target=commits.save, args=(pending("first"),))
    first.start()
    store.entered.wait(5)
    store.clashes = {"bad"}
    items = [pending("good1"), pending("bad"), pending("good2")]
    outcomes: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: outcomes.update(save_in_threads(commits, items)), daemon=True
    )
    runner.start()
    wait_until(lambda: commits.queued == 3)
    store.hold.set()
    runner.join(10)
    first.join(10)
    assert isinstance(outcomes["bad"], IntegrityError)
    assert events_of(outcomes["good1"]) == ["good1:0"]
    assert events_of(outcomes["good2"]) == ["good2:0"]


def test_an_error_of_the_store_reaches_every_command_of_the_transaction() -> None:
    def broken(batch: Sequence[Pending]) -> list[Any]:
        raise ConnectionError("the database is down")

    with pytest.raises(ConnectionError):
        GroupCommit(broken).save(pending(str(uuid4())))
