"""The walk of one command to the view that shows it: which of the product's files and functions
`POST …/milestones/{mid}/achieve`, the views' page that applies it, and `GET …/schedule` pass
through, measured by tracing the calls (so the same count can be taken of any version).

    python -m bench.walk            # this checkout, on a scratch embedded PostgreSQL database

It prints the first-party modules touched and the hops: distinct calls from a function of one
module to a function of another (through library code too: eventsourcing calling the recorder
is a hop from the ledger to the recorder). A newcomer reading the path follows those hops.
`docs/architecture.md` gives the figures before and after issue 12. Only stable entry points
are used (`bootstrap`, `upgrade`, `create_app`, HTTP), so an older checkout can be measured
with `PYTHONPATH=<its worktree> python <this file>`.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from fastapi.testclient import TestClient

PACKAGES = ("domain", "application", "adapters", "projections", "api", "cli")


def _first_party(root: Path, frame: FrameType | None) -> str | None:
    """The module a frame runs (`api/routes/commands.py`), if it is the product's own."""
    if frame is None:
        return None
    path = frame.f_code.co_filename
    if not path.startswith(str(root)):
        return None
    relative = path[len(str(root)) + 1 :]
    return relative if relative.split("/", 1)[0] in PACKAGES else None


class Walk:
    """The first-party modules and cross-module calls seen while it traces."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: set[str] = set()
        self.hops: set[tuple[str, str]] = set()
        self.counting = False
        self.segment = ""
        self.by_segment: dict[str, set[tuple[str, str]]] = {}

    def profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" or not self.counting:
            return
        callee = _first_party(self.root, frame)
        if callee is None:
            return
        self.modules.add(callee)
        caller = frame.f_back
        while caller is not None and _first_party(self.root, caller) is None:
            caller = caller.f_back
        origin = _first_party(self.root, caller)
        if origin is not None and origin != callee:
            assert caller is not None
            hop = (f"{origin}:{caller.f_code.co_name}", f"{callee}:{frame.f_code.co_name}")
            self.hops.add(hop)
            self.by_segment.setdefault(self.segment, set()).add(hop)

    @contextmanager
    def tracing(self) -> Iterator[None]:
        """Profile this thread and every thread started meanwhile (the test client's event
        loop, the worker threads); count only inside `counted()`."""
        threading.setprofile(self.profile)
        sys.setprofile(self.profile)
        try:
            yield
        finally:
            sys.setprofile(None)
            threading.setprofile(None)

    @contextmanager
    def counted(self, segment: str) -> Iterator[None]:
        self.counting, self.segment = True, segment
        try:
            yield
        finally:
            self.counting = False


def measure(root: Path, database_url: str) -> Walk:
    from api.app import create_app
    from api.bootstrap import bootstrap, upgrade
    from api.settings import Settings

    settings = Settings(pool_size=4, pool_max_overflow=4)
    upgrade(database_url, settings)
    container = bootstrap(settings, database_url)
    try:
        for name in ("walker", "checker"):
            container.principals.add(name)
        tokens = {name: container.principals.create_token(name) for name in ("walker", "checker")}
        walk = Walk(root)
        with walk.tracing(), TestClient(create_app(container, run_projections=False)) as client:

            def call(who: str, method: str, path: str, body: Any = None) -> Any:
                headers = {"Authorization": f"Bearer {tokens[who]}"}
                answer = client.request(method, f"/v1{path}", json=body, headers=headers)
                assert answer.status_code < 300, answer.text
                return answer.json()

            pid = call("walker", "POST", "/projects", {"name": "Walk"})["project_id"]
            call(
                "walker",
                "POST",
                f"/projects/{pid}/members",
                {"principal": "checker", "role": "reviewer"},
            )
            phase = call("walker", "POST", f"/projects/{pid}/phases", {"name": "P"})["phase_id"]
            did = call(
                "walker", "POST", f"/projects/{pid}/deliverables", {"title": "D", "phase_id": phase}
            )["deliverable_id"]
            cid = call(
                "walker", "POST", f"/projects/{pid}/deliverables/{did}/criteria", {"text": "c"}
            )["criterion_id"]
            call(
                "walker",
                "POST",
                f"/projects/{pid}/deliverables/{did}/criteria/{cid}/evidence",
                {"evidence": "e"},
            )
            call("walker", "POST", f"/projects/{pid}/deliverables/{did}/submit", {})
            call("checker", "POST", f"/projects/{pid}/deliverables/{did}/approve", {})
            due = (date.today() + timedelta(days=30)).isoformat()
            mid = call(
                "walker",
                "POST",
                f"/projects/{pid}/milestones",
                {"name": "M", "phase_id": phase, "due": due, "deliverable_ids": [did]},
            )["milestone_id"]
            container.runner.catch_up()
            call("walker", "GET", f"/projects/{pid}/schedule")  # warm: first calls import lazily

            with walk.counted("command"):
                achieve = f"/projects/{pid}/milestones/{mid}/achieve"
                position = call("walker", "POST", achieve, {})["position"]
            with walk.counted("views"):
                container.runner.catch_up()
            with walk.counted("query"):
                call("walker", "GET", f"/projects/{pid}/schedule?min_position={position}")
            return walk
    finally:
        container.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        print("set DATABASE_URL to a fresh, empty database", file=sys.stderr)
        return 2
    import api

    root = Path(api.__file__).resolve().parents[1]
    walk = measure(root, database_url)
    segments = ", ".join(f"{name} {len(hops)}" for name, hops in walk.by_segment.items())
    print(f"{root}: {len(walk.modules)} modules, {len(walk.hops)} hops ({segments})")
    if "--list" in args:
        for module in sorted(walk.modules):
            print(f"  {module}")
        for segment, hops in walk.by_segment.items():
            for origin, callee in sorted(hops):
                print(f"  {segment}: {origin} -> {callee}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
