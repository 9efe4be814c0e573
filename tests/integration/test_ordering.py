"""Commit order is position order: a reader tailing the log never skips an event, even while
concurrent commands are saved together in shared transactions (group commit)."""

from __future__ import annotations

import threading
from uuid import UUID

from api.bootstrap import Container
from application.access import Principal
from application.ledger import Ledger
from application.results import AnswerKey, CommandResult
from domain.project import Project
from domain.roles import ProjectRole
from tests.commanding import run_as

WRITERS = 8
COMMANDS_EACH = 25
PROJECTS = 4


def _tail(ledger: Ledger, after: int, stop: threading.Event, seen: list[int]) -> None:
    """Read the log from `after` as a feed reader does, resuming after the last position seen."""
    while True:
        finished = stop.is_set()  # read before the page: events committed before it are in it
        page = ledger.recorder.select_notifications(start=after + 1, limit=50)
        seen.extend(n.id for n in page)
        if page:
            after = page[-1].id
        elif finished:
            return


def test_a_tailing_reader_sees_every_event_of_concurrent_writers(container: Container) -> None:
    ledger = container.ledger
    projects: list[UUID] = [
        ledger.create_project(Principal("olga"), name=f"Ordering {n}").project_id
        for n in range(PROJECTS)
    ]
    start = ledger.recorder.max_notification_id() or 0
    stop = threading.Event()
    seen: list[int] = []
    reader = threading.Thread(target=_tail, args=(ledger, start, stop, seen))
    reader.start()
    results: list[CommandResult] = []
    keys: dict[str, CommandResult] = {}
    lock = threading.Lock()

    def write(writer: int) -> None:
        for n in range(COMMANDS_EACH):
            key = f"w{writer} n{n}"

            def add_phase(project: Project, name: str = key) -> dict[str, UUID]:
                return {"phase_id": project.add_phase(name, actor="olga")}

            result = run_as(
                ledger,
                projects[(writer + n) % PROJECTS],
                add_phase,
                actor="olga",
                needs=ProjectRole.MANAGER,
                answer_key=AnswerKey("olga", key, b""),
            )
            with lock:
                results.append(result)
                keys[key] = result

    writers = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    reader.join()

    committed = [n.id for n in ledger.recorder.select_notifications(start=start + 1, limit=10_000)]
    # Every event committed, exactly once, in position order: none skipped, none seen twice.
    assert seen == committed
    # Each command got its own answer: its own event, at its own position.
    positions = [r.position for r in results]
    assert len(results) == WRITERS * COMMANDS_EACH
    assert len(set(positions)) == len(positions)
    assert set(positions) <= set(committed)
    for pid in projects:
        phases = ledger.load(pid).phases
        assert len(phases) == WRITERS * COMMANDS_EACH // PROJECTS
    # The response each Idempotency-Key would replay names that command's own position.
    for key, result in keys.items():
        kept = ledger.store.find_answer("olga", key)
        assert kept is not None
        assert kept.position == result.position
