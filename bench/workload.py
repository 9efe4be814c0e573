"""Realistic project histories: a bulk generator at the domain level and a command script for HTTP.

Both follow the same life of a deliverable: defined, two criteria, evidence for each, submitted,
sometimes rejected and resubmitted, approved by another principal, proven by a milestone that is
sometimes rescheduled and then achieved. About a dozen events per cycle, like a real project.
"""

from __future__ import annotations

import random
import re
from collections.abc import Generator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from adapters.postgres.recorder import LedgerRecorder
from application.ledger import Ledger
from application.ports import AsOfEntry
from domain.entities import DeliverableKind
from domain.project import Project
from domain.roles import ProjectRole

MANAGER = "bench-manager"
REVIEWER = "bench-reviewer"
KINDS = [kind.value for kind in DeliverableKind]
PHASES = ("Design", "Build", "Rollout")
# How many events one `Ledger.save` call writes when generating in bulk: one transaction,
# one multi-row insert, so generation runs at the store's batch speed, not per command.
SAVE_BATCH = 2000


def _cycle(project: Project, phases: list[UUID], n: int, rng: random.Random) -> None:
    """One deliverable's life, from definition to the achieved milestone that it proves."""
    phase = phases[n % len(phases)]
    did = project.define_deliverable(
        title=f"Deliverable {n}",
        phase_id=phase,
        kind=DeliverableKind(rng.choice(KINDS)),
        description="Produced and reviewed as the plan says. " * rng.randint(0, 4),
        actor=MANAGER,
    )
    criteria = [
        project.add_criterion(did, f"criterion {i} of deliverable {n}", actor=MANAGER)
        for i in range(2)
    ]
    for cid in criteria:
        project.record_evidence(did, cid, f"https://docs.example.com/{n}/{cid}", actor=MANAGER)
    project.submit(did, actor=MANAGER)
    if rng.random() < 0.2:
        project.reject(did, "the methodology section is missing", actor=REVIEWER)
        project.record_evidence(did, criteria[0], f"https://docs.example.com/{n}/v2", actor=MANAGER)
        project.submit(did, actor=MANAGER)
    project.approve(did, actor=REVIEWER)
    due = date(2030, 1, 1) + timedelta(days=n % 700)
    mid = project.define_milestone(
        name=f"Milestone {n}", phase_id=phase, due=due, deliverable_ids=[did], actor=MANAGER
    )
    if rng.random() < 0.3:
        project.reschedule(mid, due + timedelta(days=7), "the supplier is late", actor=MANAGER)
    project.achieve(mid, actor=MANAGER)


def new_project(name: str) -> tuple[Project, list[UUID]]:
    """A project managed by MANAGER, reviewed by REVIEWER, with three phases."""
    project = Project.create(name=name, actor=MANAGER)
    project.set_member(REVIEWER, ProjectRole.REVIEWER, actor=MANAGER)
    phases = [project.add_phase(phase, actor=MANAGER) for phase in PHASES]
    return project, phases


def grow(project: Project, phases: list[UUID], events: int, rng: random.Random) -> None:
    """Add deliverable cycles until the project has at least `events` pending or saved events."""
    n = len(project.deliverables)
    while project.version < events:
        _cycle(project, phases, n, rng)
        n += 1


def generate(
    ledger: Ledger, total: int, *, events_per_project: int = 1000, seed: int = 7
) -> list[UUID]:
    """Append about `total` events in projects of about `events_per_project`; their ids.

    Several projects go into each save (`Application.save` takes many aggregates), so the
    events are written in one transaction per SAVE_BATCH events.
    """
    rng = random.Random(seed)
    written = 0
    ids: list[UUID] = []
    batch: list[Project] = []
    pending = 0
    while written + pending < total:
        project, phases = new_project(f"Generated project {len(ids)}")
        grow(project, phases, min(events_per_project, total - written - pending), rng)
        ids.append(project.id)
        batch.append(project)
        pending += len(project.pending_events)
        if pending >= SAVE_BATCH:
            written += _save(ledger, batch)
            batch, pending = [], 0
    if batch:
        written += _save(ledger, batch)
    return ids


def _save(ledger: Ledger, projects: list[Project]) -> int:
    count = sum(len(p.pending_events) for p in projects)
    as_of = [
        AsOfEntry(e.originator_id, e.originator_version, e.timestamp)
        for p in projects
        for e in p.pending_events
    ]
    ledger.save(*projects, as_of=as_of)
    return count


# Events per save when one project is grown: a long project's history arrives in many saves.
PROJECT_SAVE = 200


class GrownProject:
    """Saves one project grown in memory, leaving the store as the service's saves would: its
    events with their as-of index rows, and a snapshot at each multiple of the interval.

    The ledger's own save snapshots a version the save passed (not its last one) by rebuilding
    the project from the store: the snapshot before it decoded, then up to 99 events replayed.
    For a big project grown `PROJECT_SAVE` events at a time that was most of the time the bench
    took to make it (cProfile, 5,000 events of ~400 deliverables: 14 of 33 s rebuilding, 9
    encoding the snapshots). Here the state at each such version is replayed in memory instead,
    from the state at the last save, and snapshotted as the ledger snapshots a state it has
    just saved (`Ledger._snapshot_saved`)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.interval = ledger.snapshotting_intervals[Project]
        self.saved: Project | None = None  # the project as of its last save, replayed apart

    def save(self, project: Project) -> list[datetime]:
        """Save `project`'s pending events and the snapshots they reach; their timestamps."""
        events = project.collect_events()
        as_of = [AsOfEntry(e.originator_id, e.originator_version, e.timestamp) for e in events]
        self.ledger.save(*events, as_of=as_of)
        for event in events:
            self.saved = event.mutate(self.saved)
            assert isinstance(self.saved, Project)
            if self.saved.version % self.interval == 0 and self.ledger.snapshots is not None:
                self.ledger.snapshots.put([Project.Snapshot.take(self.saved)])
        return [event.timestamp for event in events]


def one_project(ledger: Ledger, events: int, name: str, seed: int = 11) -> UUID:
    """One project of about `events` events, saved a batch at a time (so snapshots are taken)."""
    rng = random.Random(seed)
    project, phases = new_project(name)
    saver = GrownProject(ledger)
    while project.version < events:
        grow(project, phases, min(project.version + PROJECT_SAVE, events), rng)
        saver.save(project)
    return project.id


# (method, path, JSON body, sent by the reviewer rather than the manager)
Command = tuple[str, str, dict[str, Any] | None, bool]


class CommandScript:
    """The HTTP commands of one client, cycling through deliverable lives on one project.

    The generator yields a `Command` and is sent each response's JSON, so later commands use
    the ids the server chose.
    """

    def __init__(self, project_id: str, phase_id: str, rng: random.Random) -> None:
        self.p = f"/v1/projects/{project_id}"
        self.phase_id = phase_id
        self.rng = rng
        self.n = 0

    def commands(self) -> Generator[Command, dict[str, Any], None]:
        """Endless (method, path, body, as_reviewer); send each response's JSON back in."""
        while True:
            self.n += 1
            n, p, rng = self.n, self.p, self.rng
            body = {"title": f"Deliverable {n}", "phase_id": self.phase_id, "kind": "report"}
            did = (yield "POST", f"{p}/deliverables", body, False)["deliverable_id"]
            cids = []
            for i in range(2):
                answer = yield "POST", f"{p}/deliverables/{did}/criteria", {"text": f"c{i}"}, False
                cids.append(answer["criterion_id"])
            for cid in cids:
                evidence = {"evidence": f"https://docs.example.com/{n}/{cid}"}
                yield "POST", f"{p}/deliverables/{did}/criteria/{cid}/evidence", evidence, False
            yield "POST", f"{p}/deliverables/{did}/submit", {}, False
            if rng.random() < 0.2:
                reason = {"reason": "the methodology section is missing"}
                yield "POST", f"{p}/deliverables/{did}/reject", reason, True
                yield "POST", f"{p}/deliverables/{did}/submit", {}, False
            yield "POST", f"{p}/deliverables/{did}/approve", {}, True
            due = date(2030, 1, 1) + timedelta(days=n % 700)
            milestone = {
                "name": f"Milestone {n}",
                "phase_id": self.phase_id,
                "due": due.isoformat(),
                "deliverable_ids": [did],
            }
            mid = (yield "POST", f"{p}/milestones", milestone, False)["milestone_id"]
            if rng.random() < 0.3:
                later = {"due": (due + timedelta(days=7)).isoformat(), "reason": "late supplier"}
                yield "POST", f"{p}/milestones/{mid}/reschedule", later, False
            yield "POST", f"{p}/milestones/{mid}/achieve", {}, False


# A UUID as the store's JSON writes it (`{"_type_":"uuid_hex","_data_":"<32 hex digits>"}`).
_UUID_HEX = re.compile(rb'"_data_":"([0-9a-f]{32})"')
# How many rows one COPY transaction writes.
COPY_BATCH = 20_000
# The principals the cloned projects' events name, so a filter by actor selects a few percent.
ACTORS = 25


@dataclass(frozen=True)
class _Row:
    version: int
    topic: str
    state: bytes
    occurred_at: datetime


def _template(ledger: Ledger, events: int, seed: int) -> list[_Row]:
    """One realistic project's events, encoded by the ledger's own mapper (never saved)."""
    project, phases = new_project("Generated project")
    grow(project, phases, events, random.Random(seed))
    return encoded(ledger, project)


def encoded(ledger: Ledger, project: Project) -> list[_Row]:
    """`project`'s pending events as the store would keep them (a template to clone)."""
    rows = []
    for event in project.collect_events():
        stored = ledger.mapper.to_stored_event(event)
        rows.append(_Row(stored.originator_version, stored.topic, stored.state, event.timestamp))
    return rows


def copy_projects(
    ledger: Ledger,
    database_url: str,
    total: int,
    *,
    events_per_project: int = 1000,
    seed: int = 7,
    template: list[_Row] | None = None,
) -> list[UUID]:
    """Append about `total` events by COPY: clones of one generated project, each with its own
    project id, entity ids and principals. The events table's triggers still take the ordering
    lock and seal each row into the hash chain, and the as-of index gets its rows too, so the
    log is what the service would have written, only faster to make."""
    recorder = ledger.recorder
    assert isinstance(recorder, LedgerRecorder)
    template = template or _template(ledger, events_per_project, seed)
    rng = random.Random(seed)
    events_copy = sql.SQL(
        "COPY {} (originator_id, originator_version, topic, state) FROM STDIN"
    ).format(sql.Identifier(recorder.events_table_name))
    timeline_copy = sql.SQL("COPY {} (project_id, version, occurred_at) FROM STDIN").format(
        sql.Identifier(recorder.timeline_table)
    )
    ids: list[UUID] = []
    written = 0
    with psycopg.connect(database_url) as conn:
        while written < total:
            batch: list[tuple[UUID, _Row, bytes]] = []
            while len(batch) < COPY_BATCH and written + len(batch) < total:
                project_id = uuid4()
                ids.append(project_id)
                mask = rng.getrandbits(128)
                names = {
                    MANAGER.encode(): f"manager-{rng.randrange(ACTORS):02d}".encode(),
                    REVIEWER.encode(): f"reviewer-{rng.randrange(ACTORS):02d}".encode(),
                }

                def clone(match: re.Match[bytes], mask: int = mask) -> bytes:
                    return b'"_data_":"%032x"' % (int(match.group(1), 16) ^ mask)

                for row in template[: total - written - len(batch)]:
                    state = _UUID_HEX.sub(clone, row.state)
                    for old, new in names.items():
                        state = state.replace(b'"' + old + b'"', b'"' + new + b'"')
                    batch.append((project_id, row, state))
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(events_copy) as copy:
                    copy.set_types(["uuid", "int8", "text", "bytea"])
                    for project_id, row, state in batch:
                        copy.write_row((project_id, row.version, row.topic, state))
                with cur.copy(timeline_copy) as copy:
                    copy.set_types(["uuid", "int8", "timestamptz"])
                    for project_id, row, _ in batch:
                        copy.write_row((project_id, row.version, row.occurred_at))
                # Wake the runners as the event store does after its own inserts.
                cur.execute(sql.SQL("NOTIFY {}").format(sql.Identifier(recorder.channel_name)))
            written += len(batch)
    return ids
