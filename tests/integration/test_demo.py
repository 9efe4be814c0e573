"""`milestones demo` and `milestones db upgrade`, as a new user would first meet them."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient

from api.bootstrap import Container, upgrade
from api.settings import Settings
from cli.demo_project import load_demo
from domain.rules import Health
from tests.integration.conftest import User


def test_db_upgrade_can_run_again_on_a_live_database(
    database_url: str, settings: Settings, container: Container
) -> None:
    upgrade(database_url, settings)  # the session already upgraded once

    assert container.runner.wait_for(0, 1.0)


def test_demo_project_shows_every_health_state_and_every_kind_of_misalignment(
    container: Container, client: TestClient
) -> None:
    out = io.StringIO()
    pid = load_demo(container, base_url="http://127.0.0.1:8000", out=out)
    printed = out.getvalue()
    alice_token = next(
        line.split()[1].removeprefix("ALICE=")
        for line in printed.splitlines()
        if line.startswith("export ALICE=")
    )
    alice = User("alice", alice_token, client)
    head = container.ledger.recorder.max_notification_id() or 0

    schedule = alice.get(f"/v1/projects/{pid}/schedule", params={"min_position": head})
    alignment = alice.get(f"/v1/projects/{pid}/alignment").json()

    healths = {m["health"] for p in schedule.json()["phases"] for m in p["milestones"]}
    assert healths == {h.value for h in Health}
    assert alignment["aligned"] is False
    assert all(
        alignment[key]
        for key in (
            "milestones_without_deliverables",
            "deliverables_without_milestones",
            "deliverables_without_criteria",
        )
    )
    assert printed.count("curl -s") == 3
