"""`python -m bench.artifact_upload [MIB ...]`: artifact upload throughput against a raw COPY.

For each size (default 1, 8 and 24 MiB) the same random bytes are written, in the same run and
on the same server, five ways, each repeated (the median is printed):

- `raw COPY`: one binary COPY of the bytes into a scratch `bytea` table (STORAGE EXTERNAL, no
  constraint): the baseline, what PostgreSQL itself takes to receive and store them;
- `store`: `Artifacts.put` from a file spooled beforehand, hashed (as the upload hashes what it
  reads), as the service writes it: the same COPY into `artifacts`, plus the database's own
  SHA-256 check of the content and its primary key;
- `HTTP`: `POST /v1/projects/{pid}/artifacts` through the in-process ASGI client: the body read
  in pieces, hashed, spooled to a file, then `store`;
- `large object`: the bytes written as a large object, 1 MiB `lo_put` at a time, in one
  transaction (the alternative to `bytea`, docs/trust.md §9);
- `read`: `GET` of the whole artifact through the ASGI client, 1 MiB slices.

Each figure is MB/s (10^6 bytes per second) and its ratio to the raw COPY of the same run.
Needs DATABASE_URL (a server where it may create and drop a database).
"""

from __future__ import annotations

import hashlib
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
from fastapi.testclient import TestClient

from adapters.postgres.artifacts import PIECE, copy_binary_row
from adapters.postgres.embedded import drop_database, ensure_database
from api.app import create_app
from api.bootstrap import Container, bootstrap, upgrade
from api.settings import Settings
from application.access import GlobalRole

REPEATS = 5


def _median_seconds(run: Callable[[int], None]) -> float:
    times = []
    for attempt in range(REPEATS):
        started = time.perf_counter()
        run(attempt)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    sizes = [int(a) for a in sys.argv[1:]] or [1, 8, 24]
    server = os.environ["DATABASE_URL"]
    name = f"artifact_upload_{uuid4().hex[:8]}"
    url = ensure_database(server, name)
    try:
        with tempfile.TemporaryDirectory() as keys:
            settings = Settings(
                pool_size=2,
                pool_max_overflow=0,
                signing_key=Path(keys) / "k",
                artifact_max_bytes=max(sizes) * 1024 * 1024 + 1,
            )
            upgrade(url, settings)
            container = bootstrap(settings, url)
            try:
                container.principals.add("bench", GlobalRole.MEMBER)
                token = container.principals.create_token("bench")
                with TestClient(create_app(container, run_projections=False)) as client:
                    headers = {"Authorization": f"Bearer {token}"}
                    pid = client.post(
                        "/v1/projects", json={"name": "Bench"}, headers=headers
                    ).json()["project_id"]
                    with psycopg.connect(url, autocommit=True) as conn:
                        conn.execute("CREATE TABLE raw_copy (content bytea NOT NULL)")
                        conn.execute(
                            "ALTER TABLE raw_copy ALTER COLUMN content SET STORAGE EXTERNAL"
                        )
                        print(
                            "size MiB | raw COPY MB/s | store MB/s (ratio) | HTTP MB/s (ratio) | "
                            "large object MB/s (ratio) | read MB/s (ratio)"
                        )
                        for mib in sizes:
                            _one_size(mib, conn, container, client, headers, pid)
            finally:
                container.close()
    finally:
        drop_database(server, name)
    return 0


def _one_size(
    mib: int,
    conn: psycopg.Connection[tuple[object, ...]],
    container: Container,
    client: TestClient,
    headers: dict[str, str],
    pid: str,
) -> None:
    size = mib * 1024 * 1024
    samples = [os.urandom(size) for _ in range(REPEATS)]  # new bytes each time: no dedupe

    def raw_copy(attempt: int) -> None:
        with (
            conn.transaction(),
            conn.cursor() as cursor,
            cursor.copy("COPY raw_copy (content) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            for piece in copy_binary_row([], io.BytesIO(samples[attempt]), size):
                copy.write(piece)

    # The store's own bytes (not the HTTP run's), spooled beforehand: it times the write only.
    files = ExitStack()
    spooled = [files.enter_context(tempfile.TemporaryFile()) for _ in range(REPEATS)]  # noqa: SIM115 - the stack closes them
    for file in spooled:
        file.write(os.urandom(size))

    def store(attempt: int) -> None:
        file = spooled[attempt]
        file.seek(0)
        digest = hashlib.file_digest(file, "sha256").digest()  # the HTTP path hashes as it reads
        file.seek(0)
        _, stored = container.artifacts.put(
            UUID(pid),
            file,
            sha256=digest,
            size=size,
            media_type="application/octet-stream",
            filename=None,
            uploaded_by="bench",
        )
        assert stored

    def http(attempt: int) -> None:
        answer = client.post(
            f"/v1/projects/{pid}/artifacts",
            content=samples[attempt],
            headers={**headers, "Content-Type": "application/octet-stream"},
        )
        assert answer.status_code == 201, answer.text

    def large_object(attempt: int) -> None:
        with conn.transaction():
            row = conn.execute("SELECT lo_create(0)").fetchone()
            assert row is not None
            oid = row[0]
            data = samples[attempt]
            for offset in range(0, size, PIECE):
                conn.execute(
                    "SELECT lo_put(%s, %s, %s)", (oid, offset, data[offset : offset + PIECE])
                )

    digest = hashlib.sha256(samples[0]).hexdigest()

    def read(_: int) -> None:
        answer = client.get(f"/v1/projects/{pid}/artifacts/{digest}", headers=headers)
        assert len(answer.content) == size

    raw = _median_seconds(raw_copy)
    figures = [_median_seconds(run) for run in (store, http, large_object, read)]
    files.close()
    mbps = size / 1e6
    cells = [f"{mbps / s:.0f} ({raw / s:.2f})" for s in figures]
    print(f"{mib} | {mbps / raw:.0f} | " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    sys.exit(main())
