"""Commands first run on the process's cached copy: another process's writes never lead astray.

The ledger tries a command on the copy this process cached (`Ledger.admit_cached`, then
`Ledger._run`), without reading the store; the save's version check proves that copy current.
Two ledgers on one database stand for two processes: `here` caches a project, `there` changes
it, then `here` runs commands whose answer depends on what `there` did. Each must be decided on
the fresh state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from uuid import UUID

import pytest

from adapters.postgres.database import eventsourcing_env
from api.settings import Settings
from application.access import Principal
from application.ledger import Ledger
from application.results import CommandResult
from domain.errors import ProjectNotFoundError, VersionMismatchError
from domain.project import Project
from domain.roles import ProjectRole
from tests.commanding import run_as

MANAGER, BOB = "stale-alice", "stale-bob"


@pytest.fixture(scope="module")
def there(database_url: str, ledger: Ledger) -> Iterator[Ledger]:
    env = eventsourcing_env(database_url, Settings(pool_size=2, pool_max_overflow=2))
    built = Ledger(env=env)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def here(ledger: Ledger) -> Ledger:
    return ledger


def _cached_project(here: Ledger) -> UUID:
    """A project `here` created and has just written to, so it holds it in its cache."""
    pid = here.create_project(Principal(MANAGER), name="Stale").project_id
    _run(here, pid, lambda p: p.add_phase("Build", actor=MANAGER))
    assert here.peek(pid) is not None
    return pid


def _run(
    ledger: Ledger,
    pid: UUID,
    act: Callable[[Project], object],
    actor: str = MANAGER,
    expected_version: int | None = None,
) -> CommandResult:
    """Run `act` as `actor`, a command that needs the manager role."""

    def command(project: Project) -> dict[str, UUID] | None:
        ids = act(project)
        return ids if isinstance(ids, dict) else None

    return run_as(
        ledger,
        pid,
        command,
        actor=actor,
        needs=ProjectRole.MANAGER,
        expected_version=expected_version,
    )


def _role(principal: str, role: ProjectRole) -> Callable[[Project], None]:
    return lambda project: project.set_member(principal, role, actor=MANAGER)


def _phase(project: Project) -> UUID:
    return next(iter(project.phases.values())).id


def _define(name: str, actor: str = MANAGER) -> Callable[[Project], dict[str, UUID]]:
    def act(project: Project) -> dict[str, UUID]:
        did = project.define_deliverable(title=name, phase_id=_phase(project), actor=actor)
        return {"deliverable_id": did}

    return act


def test_a_command_after_another_process_wrote_lands_on_top_of_it(
    here: Ledger, there: Ledger
) -> None:
    pid = _cached_project(here)
    cached_version = here.peek(pid).version  # type: ignore[union-attr]
    _run(there, pid, _define("from there"))

    result = _run(here, pid, _define("from here"))

    assert result.version == cached_version + 2
    titles = {d.title for d in here.load(pid).deliverables.values()}
    assert titles == {"from there", "from here"}


def test_a_role_granted_by_another_process_lets_the_caller_in(here: Ledger, there: Ledger) -> None:
    pid = _cached_project(here)
    _run(there, pid, _role(BOB, ProjectRole.MANAGER))

    result = _run(here, pid, _define("by bob", BOB), BOB)

    assert result.position is not None


def test_a_role_removed_by_another_process_keeps_the_caller_out(
    here: Ledger, there: Ledger
) -> None:
    pid = _cached_project(here)
    _run(here, pid, _role(BOB, ProjectRole.MANAGER))
    _run(there, pid, lambda p: p.remove_member(BOB, actor=MANAGER))
    version = there.load(pid).version

    with pytest.raises(ProjectNotFoundError):
        _run(here, pid, _define("by bob", BOB), BOB)
    assert there.load(pid).version == version


def test_if_match_is_judged_against_the_stored_version(here: Ledger, there: Ledger) -> None:
    pid = _cached_project(here)
    stale = here.peek(pid).version  # type: ignore[union-attr]
    _run(there, pid, _define("from there"))

    with pytest.raises(VersionMismatchError):
        _run(here, pid, _define("late"), expected_version=stale)
    result = _run(here, pid, _define("current"), expected_version=stale + 1)
    assert result.version == stale + 2


def test_a_no_op_on_the_cached_copy_is_checked_on_fresh_state(here: Ledger, there: Ledger) -> None:
    pid = _cached_project(here)
    _run(here, pid, _role(BOB, ProjectRole.MANAGER))
    _run(there, pid, _role(BOB, ProjectRole.VIEWER))

    # On the cached copy BOB is already a manager (nothing to do); in the store he is a viewer.
    result = _run(here, pid, _role(BOB, ProjectRole.MANAGER))

    assert result.changed
    assert there.load(pid).role_of(BOB) is ProjectRole.MANAGER
