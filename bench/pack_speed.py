"""`python -m bench.pack_speed [N]`: what an evidence pack costs when N other projects' events lie
between a project's first event and its checkpoint.

Makes a scratch database, a project whose milestone is achieved with N foreign events (sealed by
the trigger, link version 2) in between, and a checkpoint; then times, in the same run:
- the baseline: one raw sequential read of the same rows (position, stream, version, topic,
  state), as a client of the database would read them;
- the pack: `api.evidence_pack.plan` + `stream`, every byte of the zip, the row digests of the
  foreign rows computed by the database;
- the offline check: `auditor.verify_pack.verify_pack` over the pack's bytes.
Prints the times, their ratios to the baseline and the pack's size per foreign row.
Needs DATABASE_URL (a server where it may create and drop a database).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from uuid import uuid4

import psycopg

from adapters.postgres.embedded import drop_database, ensure_database
from adapters.postgres.packs import PackReads
from adapters.signing import raw_public
from api import evidence_pack
from api.bootstrap import bootstrap, upgrade
from api.checkpoints import Checkpoints
from api.settings import Settings
from application.access import Admission, GlobalRole, Principal
from auditor.verify_pack import verify_pack
from domain.roles import ProjectRole

STATE = b'{"actor": "bench", "name": "' + b"x" * 200 + b'"}'  # about the size of a real event


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    server = os.environ["DATABASE_URL"]
    name = f"pack_speed_{uuid4().hex[:8]}"
    url = ensure_database(server, name)
    try:
        with tempfile.TemporaryDirectory() as keys:
            settings = Settings(pool_size=2, pool_max_overflow=0, signing_key=Path(keys) / "k")
            upgrade(url, settings)
            container = bootstrap(settings, url)
            try:
                ledger = container.ledger
                bench = Principal("bench")
                pid = ledger.create_project(bench, name="Bench").project_id
                assert pid is not None

                def admitted() -> Admission:
                    return ledger.admit(pid, bench, ProjectRole.MANAGER, writes=True)

                phase = ledger.add_phase(admitted(), "Build").ids["phase_id"]
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(
                        "INSERT INTO ledger_events (originator_id, originator_version, topic,"
                        " state) SELECT gen_random_uuid(), 1, 'domain.events:PhaseAdded', %s"
                        " FROM generate_series(1, %s)",
                        (STATE, count),
                    )
                did = ledger.define_deliverable(admitted(), "Report", phase).ids["deliverable_id"]
                mid = ledger.define_milestone(admitted(), "Done", phase, date.today(), [did]).ids[
                    "milestone_id"
                ]
                cid = ledger.add_criterion(admitted(), did, "written").ids["criterion_id"]
                ledger.record_evidence(admitted(), did, cid, "https://example.org/report")
                ledger.submit_deliverable(admitted(), did)
                container.principals.add("reviewer", GlobalRole.MEMBER)
                ledger.set_member(admitted(), "reviewer", ProjectRole.REVIEWER)
                reviewer = ledger.admit(
                    pid, Principal("reviewer"), ProjectRole.REVIEWER, writes=True
                )
                ledger.approve_deliverable(reviewer, did)
                ledger.achieve_milestone(admitted(), mid)
                checkpoints = Checkpoints.of(container)
                signed = checkpoints.create()
                assert signed is not None

                started = time.perf_counter()
                with psycopg.connect(url) as conn:
                    rows = conn.execute(
                        "SELECT notification_id, originator_id, originator_version, topic, state"
                        " FROM ledger_events ORDER BY notification_id"
                    ).fetchall()
                raw = time.perf_counter() - started
                assert len(rows) >= count

                reads = PackReads(container.pool)
                started = time.perf_counter()
                plan = evidence_pack.plan(reads, checkpoints, pid, mid, with_artifacts=True)
                pack = b"".join(evidence_pack.stream(plan, reads, container.artifacts))
                packed = time.perf_counter() - started

                started = time.perf_counter()
                report = verify_pack(pack, [raw_public(checkpoints.key.public_key())])
                checked = time.perf_counter() - started
            finally:
                container.close()
        assert report.ok, report
        assert report.trusted
        assert report.foreign_rows == count, report
        print(
            f"{count} other projects' events between the project's first event and its checkpoint"
        )
        print(f"baseline: raw sequential read of the {len(rows)} rows: {raw:.2f} s")
        print(
            f"pack: {packed:.2f} s = {packed / raw:.2f} x the raw read; {len(pack):,} bytes "
            f"= {len(pack) / count:.1f} bytes per foreign row"
        )
        print(f"offline verify --pack: {checked:.2f} s = {checked / raw:.2f} x the raw read")
    finally:
        drop_database(server, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
