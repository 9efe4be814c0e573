"""Kept answers expire: within `ANSWERS_KEPT_FOR` a key's answer is found, after it the key is
free again, and pruning forgets every expired answer and no other (on both stores)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import uuid4

import psycopg
import pytest

from adapters.memory import MemoryLedgerRecorder
from application.ledger import Ledger
from application.results import ANSWERS_KEPT_FOR, AnswerKey, KeptAnswer

Age = Callable[[str, timedelta], None]


@pytest.fixture
def age(ledger: Ledger, request: pytest.FixtureRequest) -> Age:
    """Make the answers a principal has kept so far older by `by`."""
    store = ledger.store
    if isinstance(store, MemoryLedgerRecorder):
        memory = store

        def older_in_memory(principal: str, by: timedelta) -> None:
            # The memory store ages every answer: its clock moves on.
            clock = memory.clock

            def later() -> datetime:
                return clock() + by

            memory.clock = later

        return older_in_memory
    url = request.getfixturevalue("upgraded_database")

    def older_in_postgres(principal: str, by: timedelta) -> None:
        with psycopg.connect(url) as conn:
            conn.execute(
                "UPDATE kept_answers SET kept_at = kept_at - %s WHERE principal = %s",
                (by, principal),
            )

    return older_in_postgres


def refusal(principal: str, key: str) -> KeptAnswer:
    return KeptAnswer(AnswerKey(principal, key, bytes(32)), status=409, headers={}, body=b"{}")


def test_an_answer_is_found_until_the_window_ends(ledger: Ledger, age: Age) -> None:
    principal = f"olga-{uuid4().hex[:8]}"
    ledger.store.keep_answer(refusal(principal, "k"))

    age(principal, ANSWERS_KEPT_FOR - timedelta(minutes=1))

    assert ledger.store.find_answer(principal, "k") == refusal(principal, "k")


def test_an_expired_answer_is_forgotten_and_its_key_may_keep_another(
    ledger: Ledger, age: Age
) -> None:
    principal = f"olga-{uuid4().hex[:8]}"
    ledger.store.keep_answer(refusal(principal, "k"))
    age(principal, ANSWERS_KEPT_FOR + timedelta(minutes=1))

    forgotten = ledger.store.find_answer(principal, "k")
    ledger.store.keep_answer(refusal(principal, "k"))

    assert forgotten is None
    assert ledger.store.find_answer(principal, "k") is not None


def test_pruning_forgets_the_expired_answers_and_keeps_the_others(ledger: Ledger, age: Age) -> None:
    old, new = f"old-{uuid4().hex[:8]}", f"new-{uuid4().hex[:8]}"
    for key in ("a", "b"):
        ledger.store.keep_answer(refusal(old, key))
    age(old, ANSWERS_KEPT_FOR + timedelta(seconds=1))
    ledger.store.keep_answer(refusal(new, "a"))

    pruned = ledger.store.prune_answers()

    assert pruned >= 2  # on PostgreSQL, other tests' expired answers go too
    assert ledger.store.find_answer(old, "a") is None
    assert ledger.store.find_answer(new, "a") is not None
