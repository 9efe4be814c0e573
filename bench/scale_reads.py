"""The read routes the scale run times, and how: one keep-alive client, requests spread over the
bulk-loaded projects in a fixed random order (so most reads miss the API process's cache, as an
organisation's readers would), each route's p50 and p99 in milliseconds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

from bench.load import _Http, percentile

# A route's request for one project: (name, path maker).
Route = tuple[str, Callable[[UUID], str]]


def routes(instant: datetime, actor: str, head: int) -> list[Route]:
    """Every read a user makes of the current state, the views and the past; `instant` lies
    inside the bulk projects' stories (for as-of and diff), `actor` is one of their managers."""
    at = quote(instant.isoformat())
    rng = random.Random(5)
    return [
        ("project (strongly consistent)", lambda p: f"/v1/projects/{p}"),
        ("project as_of", lambda p: f"/v1/projects/{p}?as_of={at}"),
        ("schedule (view)", lambda p: f"/v1/projects/{p}/schedule"),
        ("alignment (view)", lambda p: f"/v1/projects/{p}/alignment"),
        ("project list (view)", lambda p: "/v1/projects"),
        ("history, first page", lambda p: f"/v1/projects/{p}/history"),
        ("history, a later page", lambda p: f"/v1/projects/{p}/history?after_version=500"),
        ("history export (csv)", lambda p: f"/v1/projects/{p}/history/export"),
        ("retrospective", lambda p: f"/v1/projects/{p}/retrospective"),
        ("diff from an instant to now", lambda p: f"/v1/projects/{p}/diff?from={at}"),
        ("baselines", lambda p: f"/v1/projects/{p}/baselines"),
        ("calendar.ics", lambda p: f"/v1/projects/{p}/calendar.ics"),
        ("timeline.svg", lambda p: f"/v1/projects/{p}/timeline.svg"),
        ("audit trail, first page", lambda p: "/v1/audit?limit=100"),
        ("audit trail by actor", lambda p: f"/v1/audit?limit=100&actor={actor}"),
        ("audit trail by entity", lambda p: f"/v1/audit?limit=100&entity_id={p}"),
        ("feed after a position", lambda p: f"/v1/events?after={rng.randrange(max(head, 1))}"),
    ]


def read_order(projects: list[UUID]) -> list[UUID]:
    """The order `measure` reads the projects in (the first `samples` of it are read)."""
    order = list(projects)
    random.Random(11).shuffle(order)
    return order


def measure(
    url: str, headers: dict[str, str], projects: list[UUID], route_list: list[Route], samples: int
) -> dict[str, dict[str, Any]]:
    """Each route `samples` times over `projects` (shuffled): p50/p99 ms and any failures."""
    client = _Http(url)
    order = read_order(projects)
    found: dict[str, dict[str, Any]] = {}
    try:
        for name, path in route_list:
            latencies: list[float] = []
            failures: dict[str, int] = {}
            for n in range(samples):
                started = time.perf_counter()
                status, _ = _get(client, path(order[n % len(order)]), headers)
                if status == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    failures[str(status)] = failures.get(str(status), 0) + 1
            found[name] = {
                "p50_ms": round(percentile(latencies, 50) * 1000, 2),
                "p99_ms": round(percentile(latencies, 99) * 1000, 2),
                "max_ms": round(max(latencies, default=float("nan")) * 1000, 2),
                "samples": len(latencies),
                "failures": failures,
                "example": path(order[0]).split("?")[0],
            }
    finally:
        client.close()
    return found


def _get(client: _Http, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    """A GET whose body may not be JSON (exports, SVG, iCalendar): only its status matters."""
    try:
        return client.request("GET", path, None, headers)
    except ValueError:  # a CSV, an SVG or a calendar answered 200 but is not JSON
        return 200, None
