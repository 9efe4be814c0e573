"""Regression tests from a hostile review of the application layer (9df9dd4..ec050b5): each
reproduced a defect, now fixed; the docstrings say what each defect was.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any
from uuid import UUID

from application.access import Admission, Principal
from application.ledger import TURNS, Ledger
from application.results import AnswerKey, CommandResult
from domain.roles import ProjectRole

from .conftest import ALICE, DAVE, MakeLedger, as_, new_project


class Transactions:
    """Counts the transactions a ledger's group commit sends to the store, and those that fail
    (a version clash)."""

    def __init__(self, ledger: Ledger) -> None:
        self.saves = self.clashes = 0
        self._record = ledger._commits._record
        ledger._commits._record = self

    def __call__(self, batch: Any) -> Any:
        self.saves += 1
        try:
            return self._record(batch)
        except Exception:
            self.clashes += 1
            raise


def test_review_commands_of_one_process_never_clash_with_each_other(
    make_ledger: MakeLedger,
) -> None:
    """WAS A DEFECT (concurrency): the admitted state is read before the command's turn. Without a
    cached copy to compare it with (no cache, or the project evicted meanwhile), `_admitted_state`
    trusts a `fresh` admission and the command acts on a state another command of this very
    process has already moved past: its save clashes (a failed transaction, and the whole group
    commit it rode in is re-saved command by command), the project is marked contended for 10 s,
    and the command is retried. Before the change the state was loaded inside the turn: two
    commands of one process never clashed."""
    ledger = make_ledger(AGGREGATE_CACHE_MAXSIZE="")  # no cache, as a fresh process
    pid = new_project(ledger)
    # Two requests let in at once (two clients, one process), then run in turn.
    first = ledger.admit(pid, Principal(ALICE), ProjectRole.MANAGER, writes=True)
    second = ledger.admit(pid, Principal(ALICE), ProjectRole.MANAGER, writes=True)
    ledger.add_phase(first, "Design")
    transactions = Transactions(ledger)

    ledger.add_phase(second, "Build")

    assert (transactions.saves, transactions.clashes) == (1, 0)
    assert not ledger.contended(pid)


def test_review_a_member_promoted_after_being_let_in_may_act(ledger: Ledger) -> None:
    """WAS A DEFECT (authorization, wrong refusal): `Admission.for_command` authorises a command
    that needs more than the admission on `self.project`, the state of the admission's time,
    and raises at once: a refusal that is never decided again on fresh state (the ledger's own
    rule), so a principal promoted since gets 403 for as long as the admission is used (the
    demo, the command line and the tests keep one admission per principal)."""
    pid = new_project(ledger)
    dave = as_(ledger, pid, DAVE)  # a viewer, let in to read
    ledger.set_member(as_(ledger, pid, ALICE), DAVE, ProjectRole.MANAGER)

    result = ledger.rebaseline(dave, "plan")

    assert result.changed


def test_review_the_admitted_state_is_taken_once_even_by_two_threads() -> None:
    """WAS A DEFECT (thread safety): `take_state` is check-then-pop on a list shared by every copy
    `for_command` makes; two threads taking the state of one admission at once can both see it
    and one of them pops an empty list (IndexError, a 500) instead of getting None."""

    class SlowList(list[Any]):
        # Widens the window between the check and the pop, as a thread switch would.
        def __bool__(self) -> bool:
            answer = len(self) > 0
            barrier.wait()
            return answer

    barrier = threading.Barrier(2)
    admission = Admission(Principal(ALICE), UUID(int=1), ProjectRole.VIEWER, False)
    object.__setattr__(admission, "unused", SlowList([object()]))
    errors: list[BaseException] = []

    def take() -> None:
        try:
            admission.take_state()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []


def test_review_a_kept_answer_names_its_own_commands_position_in_a_group_commit(
    make_ledger: MakeLedger,
) -> None:
    """WAS A DEFECT (idempotency, high): `_record_batch` concatenates only the keyed commands'
    `PendingAnswer`s, each counting its own events, and the store (`insert_with_events`, both
    adapters) adds those counts up from the batch's first event: the events of a command without
    a key that precede a keyed one in the same group commit are not counted, so the answer kept
    for the keyed command names another command's position. Its replay then answers a position
    (and `?min_position=` a client waits for) that is not its own. 663ef07 counted every command
    of the batch (`idempotency_batch`)."""
    ledger = make_ledger()
    # Three projects that do not share a turn lock (else the second would wait for the first's
    # turn instead of queueing behind its save).
    by_turn: dict[int, UUID] = {}
    while len(by_turn) < 3:
        pid = ledger.create_project(Principal(ALICE), name="group").project_id
        by_turn.setdefault(hash(pid) % TURNS, pid)
    lead, plain, keyed = by_turn.values()
    admitted = {
        pid: ledger.admit(pid, Principal(ALICE), ProjectRole.MANAGER, writes=True)
        for pid in (lead, plain, keyed)
    }
    key = AnswerKey(ALICE, "review-group-commit", b"request")
    admitted[keyed] = replace(admitted[keyed], answer_key=key)
    # The first save leads and is held in its transaction, so the next two queue behind it and
    # are written together, in the order they arrive: the plain command, then the keyed one.
    entered, gate = threading.Event(), threading.Event()
    record = ledger._commits._record

    def held_first(batch: Any) -> Any:
        if not entered.is_set():
            entered.set()
            gate.wait()
        return record(batch)

    ledger._commits._record = held_first
    results: dict[UUID, CommandResult] = {}

    def run(pid: UUID) -> threading.Thread:
        def command() -> None:
            results[pid] = ledger.add_phase(admitted[pid], "Build")

        thread = threading.Thread(target=command)
        thread.start()
        return thread

    threads = [run(lead)]
    try:
        assert entered.wait(10)
        for queued, pid in enumerate((plain, keyed), start=1):
            threads.append(run(pid))
            deadline = time.monotonic() + 10
            while ledger._commits.queued < queued and time.monotonic() < deadline:
                time.sleep(0.001)
            assert ledger._commits.queued == queued, "the commands did not queue"
    finally:
        gate.set()
        for thread in threads:
            thread.join()

    kept = ledger.store.find_answer(ALICE, key.key)
    assert kept is not None
    assert kept.result == results[keyed]
