"""Check 8: the backup and restore drill — pg_dump, restore into a new database, `milestones
verify` against a checkpoint signed before the dump, and rebuilt views equal to the originals."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from uuid import uuid4

import pytest

from adapters.postgres.embedded import drop_database, ensure_database, uri_with_dbname
from tests.integration.dumps import client_tool
from tests.reliability.conftest import Figure, Served
from tests.reliability.harness import (
    client,
    milestones,
    milestones_rc,
    stored_events,
    view_differences,
    view_rows,
    wait_for_views,
)
from tests.reliability.sizes import Sizes
from tests.reliability.workload import Journal, Lifecycles, run_clients


@pytest.mark.check(8)
def test_a_restored_dump_verifies_against_an_earlier_checkpoint_and_rebuilds_the_same_views(
    served: Served, sizes: Sizes, figure: Figure, tmp_path: Path
) -> None:
    journal = Journal()
    loaders = [
        Lifecycles(
            client(served.base, served.manager_token),
            client(served.base, served.reviewer_token),
            served.reviewer,
            journal,
        )
        for _ in range(2)
    ]
    stop = threading.Event()
    threads = run_clients(
        loaders, stop, until=lambda: sum(c.units_done for c in loaders) >= sizes.restore_units
    )
    stop.wait(900)
    for thread in threads:
        thread.join(60)
    wait_for_views(served.url)
    env = served.service.env
    checkpoint = tmp_path / "checkpoint.json"
    milestones(env, "checkpoint", "create", "--out", str(checkpoint))
    # The log goes on after the auditor's checkpoint; the dump is taken later.
    loaders[0].unit()
    wait_for_views(served.url)
    originals = view_rows(served.url)
    events = len(stored_events(served.url))

    dump = tmp_path / "ledger.dump"
    subprocess.run(
        [client_tool(served.url, "pg_dump"), "-Fc", "-f", str(dump), "-d", served.url],
        check=True,
        capture_output=True,
    )
    server_uri = uri_with_dbname(served.url, "postgres")
    restored_name = f"ml_restored_{uuid4().hex[:12]}"
    restored = ensure_database(server_uri, restored_name)
    try:
        restore = subprocess.run(
            [client_tool(served.url, "pg_restore"), "--exit-on-error", "-d", restored, str(dump)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert restore.returncode == 0, restore.stderr
        on_restored = {**env, "DATABASE_URL": restored}
        # pg_dump carries no database-level grants (the application role's CREATE on the
        # database, which a rebuild's shadow schema needs); `db upgrade` grants them again.
        milestones(on_restored, "db", "upgrade")
        verified, report = milestones_rc(on_restored, "verify", "--checkpoint", str(checkpoint))
        milestones(on_restored, "projections", "rebuild", "--all")
        rebuilt = view_rows(restored)
        differences = view_differences(originals, rebuilt)
        restored_events = len(stored_events(restored))
    finally:
        drop_database(server_uri, restored_name)

    figure(
        f"{events} events, {dump.stat().st_size} bytes of dump; restored {restored_events} "
        f"events; `milestones verify --checkpoint` exit {verified} ({report.strip()[-120:]}); "
        f"views rebuilt on the restore vs originals: {len(differences)} differences "
        f"({sum(len(r) for r in originals.values())} rows)"
    )

    assert restored_events == events
    assert verified == 0
    assert differences == []
