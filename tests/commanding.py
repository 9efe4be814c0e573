"""Tests' shortcut to a state: several of the aggregate's command methods, as one principal,
saved as one command through the ledger's command path (admission, save, as-of index).

The service only ever runs one named command at a time (`application.commands`); tests of
views, runners and rebuilds need many events, often in one transaction, to set the scene.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from uuid import UUID

from application.access import GlobalRole, Principal
from application.ledger import Ledger
from application.results import AnswerKey, CommandResult
from domain.project import Project
from domain.roles import ProjectRole


def run_as(
    ledger: Ledger,
    project_id: UUID,
    act: Callable[[Project], Any],
    *,
    actor: str,
    needs: ProjectRole = ProjectRole.MANAGER,
    expected_version: int | None = None,
    role: GlobalRole = GlobalRole.MEMBER,
    answer_key: AnswerKey | None = None,
) -> CommandResult:
    """Run `act(project)` as `actor` (who needs `needs`) and save what it did as one command;
    the answer's `ids` are what `act` returned, if it returned a dict of ids."""
    admitted = ledger.admit(project_id, Principal(actor, role), needs, writes=True)
    admitted = replace(admitted, expected_version=expected_version, answer_key=answer_key)
    returned: dict[str, UUID] = {}

    def apply(project: Project, *, actor: str) -> None:
        returned.clear()
        given = act(project)
        if isinstance(given, dict):
            returned.update(given)

    result = ledger._run(admitted, apply)
    return replace(result, ids={**result.ids, **returned})


def create_project(ledger: Ledger, actor: str, name: str = "Project", **fields: Any) -> UUID:
    return ledger.create_project(Principal(actor), name=name, **fields).project_id
