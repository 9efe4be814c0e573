"""A realistic command load over HTTP that logs every answer, and the checks over that log.

Each client owns a project and runs *units* in it: a deliverable's whole life (criterion,
evidence, edit, submission, review) and a milestone that it proves (defined, rescheduled,
achieved). With `refusals`, each unit also sends commands the rules must refuse (409, 412,
422). Every command carries a unique marker in a text field, so its events can be found in the
store afterwards; the journal keeps what each command was answered (or that it got no answer).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from tests.reliability.harness import StoredEvent

ANSWERED = (200, 201)


def marker() -> str:
    return f"mk-{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class Sent:
    """One command and what it was answered; `status` None: no answer reached the client."""

    command: str
    marker: str | None
    status: int | None
    refusal_expected: bool
    project_id: str | None = None
    version: int | None = None
    position: int | None = None


@dataclass
class Journal:
    """Every command the clients sent, thread-safe; reads are counted, not kept."""

    sent: list[Sent] = field(default_factory=list)
    reads: dict[int | None, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, entry: Sent) -> None:
        with self._lock:
            self.sent.append(entry)

    def log_read(self, status: int | None) -> None:
        with self._lock:
            self.reads[status] = self.reads.get(status, 0) + 1

    def __len__(self) -> int:
        return len(self.sent)

    @property
    def acknowledged(self) -> list[Sent]:
        return [s for s in self.sent if s.status in ANSWERED]

    @property
    def refused(self) -> list[Sent]:
        return [s for s in self.sent if s.status is not None and 400 <= s.status < 500]

    @property
    def unanswered(self) -> list[Sent]:
        return [s for s in self.sent if s.status is None]

    def statuses(self) -> dict[int | None, int]:
        counts: dict[int | None, int] = {}
        for s in self.sent:
            counts[s.status] = counts.get(s.status, 0) + 1
        return counts


def lost_acknowledged(journal: Journal, events: Sequence[StoredEvent]) -> list[str]:
    """Acknowledged commands whose last event is not stored where the answer said it is."""
    at = {e.position: e for e in events}
    lost: list[str] = []
    for s in journal.acknowledged:
        if s.position is None:
            continue  # a command that changed nothing wrote nothing (R9)
        event = at.get(s.position)
        if (
            event is None
            or str(event.stream) != s.project_id
            or event.version != s.version
            or (s.marker is not None and s.marker.encode() not in event.markers)
        ):
            lost.append(f"{s.command} {s.marker} at position {s.position}: stored {event}")
    return lost


def stored_refusals(journal: Journal, events: Sequence[StoredEvent]) -> list[str]:
    """Commands answered with a 4xx whose marker nevertheless appears in a stored event."""
    stored = {m for e in events for m in e.markers}
    return [
        f"{s.command} {s.marker} answered {s.status}"
        for s in journal.refused
        if s.marker is not None and s.marker.encode() in stored
    ]


class Pacer:
    """Spaces the writes of every client sharing it to `rate` per second (None: no limit)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 0.0 if not rate else 1.0 / rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class UnitAbortedError(Exception):
    """The unit cannot go on: a command got no answer, or not the one the unit needs."""


@dataclass
class Lifecycles:
    """One client: its own project, then units until `stop` is set."""

    manager: httpx.Client
    reviewer: httpx.Client
    reviewer_name: str
    journal: Journal
    refusals: bool = False
    reads: bool = False
    pacer: Pacer = field(default_factory=lambda: Pacer(None))
    down_pause: float = 0.2
    units_per_project: int | None = None  # start a new project after this many (None: never)
    project: str | None = None
    phase: str | None = None
    units_done: int = 0
    unit_seconds: list[float] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)  # the last unit's achieve answer

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if self.project is None:
                    self._set_up()
                started = time.monotonic()
                self.unit()
                self.unit_seconds.append(time.monotonic() - started)
                self.units_done += 1
                if self.reads:
                    self._read()
                if self.units_per_project and self.units_done % self.units_per_project == 0:
                    self.project = None  # a project's state grows with its units: bound it
            except UnitAbortedError:
                time.sleep(self.down_pause)

    # --- the commands ----------------------------------------------------------------------

    def _send(
        self,
        name: str,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        mark: str | None,
        *,
        expect: int | tuple[int, ...] = ANSWERED,
        by: httpx.Client | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        wanted = (expect,) if isinstance(expect, int) else expect
        refusal = not set(wanted) & set(ANSWERED)
        self.pacer.wait()
        try:
            response = (by or self.manager).request(method, path, json=body, headers=headers)
        except httpx.TransportError:
            self.journal.log(Sent(name, mark, None, refusal))
            raise UnitAbortedError from None
        answer: dict[str, Any] = {}
        if response.headers.get("content-type", "").endswith("json"):
            answer = response.json()
        ok = response.status_code in ANSWERED
        self.journal.log(
            Sent(
                name,
                mark,
                response.status_code,
                refusal,
                project_id=answer.get("project_id") if ok else None,
                version=answer.get("version") if ok else None,
                position=answer.get("position") if ok else None,
            )
        )
        if response.status_code not in wanted:
            raise UnitAbortedError
        return answer

    def _set_up(self) -> None:
        m = marker()
        project = self._send("create project", "POST", "/v1/projects", {"name": f"P {m}"}, m)
        pid = str(project["project_id"])
        base = f"/v1/projects/{pid}"
        member = {"principal": self.reviewer_name, "role": "reviewer"}
        self._send("add member", "POST", f"{base}/members", member, None)
        m = marker()
        self.phase = self._send("add phase", "POST", f"{base}/phases", {"name": m}, m)["phase_id"]
        self.project = pid

    def unit(self) -> None:
        base = f"/v1/projects/{self.project}"
        send = self._send
        m = marker()
        body: dict[str, Any] = {"title": f"Report {m}", "phase_id": self.phase, "kind": "report"}
        did = send("define deliverable", "POST", f"{base}/deliverables", body, m)["deliverable_id"]
        d = f"{base}/deliverables/{did}"
        m = marker()
        cid = send("add criterion", "POST", f"{d}/criteria", {"text": m}, m)["criterion_id"]
        if self.refusals:  # R4: no evidence yet
            m = marker()
            send("submit early", "POST", f"{d}/submit", {"note": m}, m, expect=409)
        m = marker()
        evidence = {"evidence": f"https://evidence.example/{m}"}
        send("record evidence", "POST", f"{d}/criteria/{cid}/evidence", evidence, m)
        m = marker()
        edit = {"title": f"Final report {m}", "description": f"Edited {m}"}
        send("edit deliverable", "PATCH", d, edit, m)
        m = marker()
        send("submit", "POST", f"{d}/submit", {"note": m}, m)
        m = marker()
        due = (date.today() + timedelta(days=30)).isoformat()
        milestone = {"name": m, "phase_id": self.phase, "due": due, "deliverable_ids": [did]}
        mid = send("define milestone", "POST", f"{base}/milestones", milestone, m)["milestone_id"]
        ms = f"{base}/milestones/{mid}"
        if self.refusals:  # R3: the deliverable is only in review
            m = marker()
            send("achieve early", "POST", f"{ms}/achieve", {"note": m}, m, expect=409)
            m = marker()  # a stale If-Match
            stale = {"If-Match": '"1"'}
            send("stale phase", "POST", f"{base}/phases", {"name": m}, m, expect=412, headers=stale)
            m = marker()  # R14: an unknown field
            send("bad phase", "POST", f"{base}/phases", {"name": m, "colour": m}, m, expect=422)
        m = marker()
        later = (date.today() + timedelta(days=31)).isoformat()
        send("reschedule", "POST", f"{ms}/reschedule", {"due": later, "reason": m}, m)
        m = marker()
        send("approve", "POST", f"{d}/approve", {"comment": m}, m, by=self.reviewer)
        m = marker()
        self.last = send("achieve", "POST", f"{ms}/achieve", {"note": m}, m)

    def _read(self) -> None:
        base = f"/v1/projects/{self.project}"
        position = self.last.get("position") or 0
        reads: tuple[tuple[str, dict[str, Any]], ...] = (
            (base, {}),
            (f"{base}/schedule", {"min_position": position}),
            (f"{base}/alignment", {"min_position": position}),
            ("/v1/audit", {"project_id": self.project, "limit": 20}),
            (f"{base}/history", {"limit": 20}),
        )
        for path, params in reads:
            try:
                status: int | None = self.manager.get(path, params=params).status_code
            except httpx.TransportError:
                status = None
            self.journal.log_read(status)


def run_clients(
    clients: Sequence[Lifecycles], stop: threading.Event, until: Callable[[], bool] | None = None
) -> list[threading.Thread]:
    """Start each client in a thread; with `until`, a watcher sets `stop` once it holds."""
    threads = [threading.Thread(target=c.run, args=(stop,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    if until is not None:

        def watch() -> None:
            while not stop.is_set():
                if until():
                    stop.set()
                time.sleep(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        threads.append(watcher)
    return threads
