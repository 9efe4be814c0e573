"""Check 6: SIGKILL the API process under load — every acknowledged command is stored, and
nothing is stored for a command that was refused with a 4xx."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest

from tests.integration.processes import wait_until
from tests.reliability.conftest import Figure, Served
from tests.reliability.harness import (
    cli_env,
    client,
    rebuild_differences,
    stored_events,
    wait_for_views,
)
from tests.reliability.sizes import Sizes
from tests.reliability.workload import (
    Journal,
    Lifecycles,
    lost_acknowledged,
    run_clients,
    stored_refusals,
)


@pytest.mark.check(6)
def test_killing_the_api_under_load_loses_no_acknowledged_command(
    served: Served, sizes: Sizes, figure: Figure, tmp_path: Path
) -> None:
    journal = Journal()
    clients = [
        Lifecycles(
            client(served.base, served.manager_token, timeout=15),
            client(served.base, served.reviewer_token, timeout=15),
            served.reviewer,
            journal,
            refusals=True,
        )
        for _ in range(sizes.api_clients)
    ]
    total, kills = sizes.api_commands, sizes.api_kills
    stop = threading.Event()
    threads = run_clients(clients, stop, until=lambda: len(journal) >= total)
    rng = random.Random()
    killed_after: list[int] = []
    try:
        for k in range(kills):
            # A random moment in the k-th of kills+1 equal stretches of the run.
            stretch = total / (kills + 1)
            at = int(stretch * (k + 1) + rng.uniform(-stretch / 3, stretch / 3))
            wait_until(lambda at=at: len(journal) >= at, 600, f"{at} commands")  # type: ignore[misc]
            served.service.kill()
            killed_after.append(len(journal))
            served.service.start()
        stop.wait(900)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    events = stored_events(served.url)
    lost = lost_acknowledged(journal, events)
    leaked = stored_refusals(journal, events)
    wait_for_views(served.url)
    differences = rebuild_differences(cli_env(served.url, tmp_path), served.url)
    acknowledged, refused = len(journal.acknowledged), len(journal.refused)
    figure(
        f"{len(journal)} commands, API SIGKILLed {len(killed_after)} times (after "
        f"{killed_after} commands): {acknowledged} acknowledged, {len(lost)} of them lost; "
        f"{refused} refused (4xx), {len(leaked)} of them stored; {len(journal.unanswered)} "
        f"got no answer; statuses {journal.statuses()}; views vs rebuild: "
        f"{len(differences)} differences"
    )

    assert len(killed_after) == kills
    assert acknowledged > 0
    assert refused > 0
    assert lost == []
    assert leaked == []
    assert differences == []
