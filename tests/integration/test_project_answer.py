"""`GET /v1/projects/{pid}` (now and `?as_of=`) answers, byte for byte, what the `ProjectPublic`
model serialises for the same state: the route writes its JSON without the model (see
`api.presenters.project_json`), and must not drift from the shape the OpenAPI document gives."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from api.bootstrap import Container
from api.presenters import project_public
from application.access import GlobalRole, Principal
from application.ports import AsOfEntry
from domain.project import Project
from tests.integration.conftest import SettableClock, Users
from tests.unit.test_presenters import NOW, rich_project


@pytest.fixture
def pinned(clock: SettableClock) -> Iterator[datetime]:
    """The service's clock stands still (health depends on the day)."""
    clock.pinned = NOW
    try:
        yield NOW
    finally:
        clock.pinned = None


def test_the_project_answer_is_the_models_json(
    users: Users, container: Container, pinned: datetime
) -> None:
    auditor = users("auditor", GlobalRole.AUDITOR)
    project = rich_project(cycles=30)
    events = list(project.pending_events)
    as_of = [AsOfEntry(e.originator_id, e.originator_version, e.timestamp) for e in events]
    container.ledger.save(project, as_of=as_of)
    saved = datetime.now(UTC)

    now = auditor.get(f"/v1/projects/{project.id}")
    assert now.status_code == 200, now.text
    assert now.headers["content-type"] == "application/json"
    assert now.headers["etag"] == f'"{project.version}"'
    current = container.ledger.load(project.id)
    assert now.content == project_public(current, pinned).model_dump_json().encode()

    # Snapshots every 100 events: instants before, on and between them, and after the last.
    for version in (7, 100, 101, 150, 250, project.version):
        instant = saved if version == project.version else events[version - 1].timestamp
        past = auditor.get(f"/v1/projects/{project.id}", params={"as_of": instant.isoformat()})
        assert past.status_code == 200, past.text
        admitted = container.ledger.admit(project.id, Principal(auditor.name, GlobalRole.AUDITOR))
        rebuilt: Project = container.ledger.project_as_of(admitted, instant)
        assert rebuilt.version == version
        assert (
            past.content
            == project_public(rebuilt, pinned, as_of=instant).model_dump_json().encode()
        )
