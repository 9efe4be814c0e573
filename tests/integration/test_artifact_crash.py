"""An upload survives what events survive: `milestones serve` killed with SIGKILL while a file
streams in loses nothing it acknowledged and shows nothing half-written (issue 14, item 2)."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg

from adapters.postgres.database import open_pool
from adapters.postgres.principals import Principals
from api.bootstrap import build_ledger, upgrade
from api.settings import Settings
from application.access import GlobalRole, Principal
from tests.integration.processes import (
    MILESTONES,
    free_port,
    fresh_database,
    service_env,
    spawn,
    stop,
    wait_until,
)

PATIENCE = 60
PIECE = 64 * 1024


def _ready(base: str) -> dict[str, Any] | None:
    response = httpx.get(f"{base}/ready", timeout=2)
    return response.json() if response.status_code == 200 else None


def test_a_serve_killed_mid_upload_keeps_what_it_acknowledged_and_nothing_half_written(
    database_url: str, tmp_path: Path
) -> None:
    with fresh_database(database_url) as url:
        settings = Settings(pool_size=2, pool_max_overflow=0)
        upgrade(url, settings)
        pool = open_pool(url, settings)
        try:
            principals = Principals(pool)
            principals.add("uploader", GlobalRole.MEMBER)
            auth = {"Authorization": f"Bearer {principals.create_token('uploader')}"}
        finally:
            pool.close()
        ledger = build_ledger(url, settings)
        try:
            pid = ledger.create_project(Principal("uploader"), name="Crash").project_id
        finally:
            ledger.close()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        uploads = f"{base}/v1/projects/{pid}/artifacts"
        kept = os.urandom(300_000)
        cut = os.urandom(4 * 1024 * 1024)
        sent = threading.Event()
        outcome: list[object] = []

        def slowly() -> Iterator[bytes]:
            for offset in range(0, len(cut), PIECE):
                if offset >= 1024 * 1024:
                    sent.set()  # a megabyte is in: the process dies now
                    time.sleep(0.2)
                yield cut[offset : offset + PIECE]

        def send_cut() -> None:
            try:
                outcome.append(httpx.post(uploads, content=slowly(), headers=auth, timeout=30))
            except httpx.TransportError as error:
                outcome.append(error)

        serve = spawn(
            [*MILESTONES, "serve", "--port", str(port)], service_env(url), tmp_path / "1.log"
        )
        try:
            wait_until(lambda: _ready(base), PATIENCE, "the server")
            acknowledged = httpx.post(uploads, content=kept, headers=auth, timeout=30)
            sender = threading.Thread(target=send_cut)
            sender.start()
            assert sent.wait(PATIENCE)
            os.kill(serve.pid, signal.SIGKILL)
            sender.join(PATIENCE)
        finally:
            stop(serve)
        again = spawn(
            [*MILESTONES, "serve", "--port", str(port)], service_env(url), tmp_path / "2.log"
        )
        try:
            wait_until(lambda: _ready(base), PATIENCE, "the restarted server")
            read = httpx.get(
                f"{uploads}/{hashlib.sha256(kept).hexdigest()}", headers=auth, timeout=30
            )
            lost = httpx.get(f"{uploads}/{hashlib.sha256(cut).hexdigest()}", headers=auth)
        finally:
            stop(again)
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT sha256, size FROM artifacts").fetchall()

    assert acknowledged.status_code == 201
    # The interrupted upload was never answered: the process died under it.
    assert [type(o) for o in outcome] != [httpx.Response]
    assert len(outcome) == 1
    assert read.status_code == 200
    assert read.content == kept
    assert lost.status_code == 404
    assert [(bytes(d), s) for d, s in rows] == [(hashlib.sha256(kept).digest(), len(kept))]
