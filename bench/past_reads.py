"""CPU milliseconds per request of the reads of a long history (issue 20), in-process: one
generated project of ~1,000 events (as the scale run's), each route asked `ROUNDS` times through
FastAPI's test client; the median of the process's CPU time (user + system, every thread:
the route, the export's worker threads and the client) per request. The database's own CPU is
not counted. A measurement, not a test. Usage:

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE past_reads'
    .venv/bin/python -m bench.past_reads postgresql://postgres@127.0.0.1:5432/past_reads
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
from urllib.parse import quote

from fastapi.testclient import TestClient

from api.app import create_app
from api.bootstrap import bootstrap, upgrade
from api.settings import Settings
from application.access import GlobalRole
from bench import workload

EVENTS = 1000
ROUNDS = 30


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(url: str) -> None:
    settings = Settings()
    upgrade(url, settings)
    container = bootstrap(settings, url)
    try:
        pid = workload.one_project(container.ledger, EVENTS, "Long history")
        reader = f"past-reader-{pid.hex[:8]}"
        container.principals.add(reader, GlobalRole.AUDITOR)
        headers = {"Authorization": f"Bearer {container.principals.create_token(reader)}"}
        with TestClient(create_app(container)) as client:
            middle = client.get(
                f"/v1/projects/{pid}/history",
                params={"after_version": EVENTS // 2, "limit": 1},
                headers=headers,
            ).json()["events"][0]["occurred_at"]
            routes = {
                "history export (csv)": f"/v1/projects/{pid}/history/export",
                "retrospective": f"/v1/projects/{pid}/retrospective",
                "diff from mid-story": f"/v1/projects/{pid}/diff?from={quote(middle)}",
                "calendar.ics": f"/v1/projects/{pid}/calendar.ics",
                "timeline.svg": f"/v1/projects/{pid}/timeline.svg",
                "history, a later page": f"/v1/projects/{pid}/history?after_version=500",
            }
            found: dict[str, float] = {}
            for name, path in routes.items():
                assert client.get(path, headers=headers).status_code == 200, path
                samples = []
                for _ in range(ROUNDS):
                    started = _cpu()
                    client.get(path, headers=headers)
                    samples.append((_cpu() - started) * 1000)
                found[name] = round(statistics.median(samples), 1)
        print(json.dumps({"cpu_ms_per_request": found, "load_average": os.getloadavg()}))
    finally:
        container.close()


if __name__ == "__main__":
    main(sys.argv[1])
