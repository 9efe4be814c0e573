"""Plans of the audit-trail queries at a million events, in a scratch database (a measurement).

Generates the rows straight into the view's tables (the projection would take far longer and
the plans depend only on the rows), ANALYZEs, then prints EXPLAIN (ANALYZE, BUFFERS) for each
filter of GET /v1/audit. Usage:

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE audit_plan'
    .venv/bin/python bench/audit_plan.py postgresql://postgres@127.0.0.1:5432/audit_plan
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

import psycopg

from projections import all_ddl
from projections.audit import AuditFilter, explain_audit

EVENTS = 1_000_000
PROJECTS = 2_000
ACTORS = 500
TYPES = [
    "ProjectCreated",
    "MemberAdded",
    "PhaseAdded",
    "DeliverableDefined",
    "CriterionAdded",
    "EvidenceRecorded",
    "DeliverableSubmitted",
    "DeliverableApproved",
    "DeliverableRejected",
    "MilestoneDefined",
    "MilestoneRescheduled",
    "MilestoneAchieved",
    "MilestoneReopened",
    "DeliverableLinked",
]
START = datetime(2024, 1, 1, tzinfo=UTC)

# Positions in commit order, two years of events; entity ids are md5-derived uuids, so each
# entity has a handful of events like a real one.
GENERATE = """
INSERT INTO audit_trail (position, project_id, version, entity_kind, entity_id, entity_ids,
    event_type, actor, occurred_at, summary, data)
SELECT n,
       md5('project' || (n %% %(projects)s))::uuid,
       n / %(projects)s + 1,
       'deliverable',
       md5('entity' || (n / 8))::uuid::text,
       ARRAY[md5('entity' || (n / 8))::uuid::text, md5('project' || (n %% %(projects)s))::text],
       (%(types)s::text[])[1 + (hashint4(n)::bigint & 1023) %% %(ntypes)s],
       'user-' || ((hashint4(n + 7)::bigint & 65535) %% %(actors)s),
       %(start)s::timestamptz + (n * interval '63 seconds'),
       'someone did something to ''a deliverable''',
       jsonb_build_object('n', n)
FROM generate_series(1, %(events)s) AS n
"""


def main(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in all_ddl():
            conn.execute(statement)
        count = conn.execute("SELECT count(*) FROM audit_trail").fetchone()
        if not count or count[0] < EVENTS:
            began = time.monotonic()
            conn.execute("TRUNCATE audit_trail, project_members")
            conn.execute(
                GENERATE,
                {
                    "projects": PROJECTS,
                    "types": TYPES,
                    "actors": ACTORS,
                    "start": START,
                    "events": EVENTS,
                    "ntypes": len(TYPES),
                },
            )
            # Every project has 3 members, so each principal is a member of 12 projects.
            conn.execute(
                "INSERT INTO project_members (project_id, principal, role)"
                " SELECT md5('project' || p)::uuid, 'user-' || ((p * 3 + k) %% %s), 'viewer'"
                " FROM generate_series(0, %s - 1) p, generate_series(0, 2) k"
                " ON CONFLICT DO NOTHING",
                (ACTORS, PROJECTS),
            )
            print(f"generated {EVENTS} rows in {time.monotonic() - began:.0f} s")
        conn.execute("VACUUM ANALYZE audit_trail")
        conn.execute("VACUUM ANALYZE project_members")
        member = "user-7"
        some_project = conn.execute("SELECT md5('project' || 42)::uuid").fetchone()
        assert some_project is not None
        entity = conn.execute("SELECT md5('entity' || 60000)::uuid::text").fetchone()
        assert entity is not None
        middle = START + timedelta(seconds=63 * EVENTS // 2)
        cases = {
            "auditor, newest page": (AuditFilter(), True, None),
            "auditor, deep page (cursor at position 500000)": (AuditFilter(), True, 500_000),
            "project_id": (AuditFilter(project_id=some_project[0]), True, None),
            "entity_id": (AuditFilter(entity_id=entity[0]), True, None),
            "actor + since/until (one day)": (
                AuditFilter(actor="user-42", since=middle, until=middle + timedelta(days=1)),
                True,
                None,
            ),
            "type": (AuditFilter(type="MilestoneReopened"), True, None),
            "since/until (one hour)": (
                AuditFilter(since=middle, until=middle + timedelta(hours=1)),
                True,
                None,
            ),
            "member of 12 projects, newest page": (AuditFilter(), False, None),
            "member, actor filter": (AuditFilter(actor="user-42"), False, None),
        }
        for title, (where, read_all, before) in cases.items():
            print(f"\n=== {title}")
            print(explain_audit(conn, where, reader=member, read_all=read_all, before=before))


if __name__ == "__main__":
    main(sys.argv[1])
