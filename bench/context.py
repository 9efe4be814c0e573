"""What every metric runs against: a fresh database, an in-process container, the real service.

The database is created for this run and dropped after it: on the server of DATABASE_URL when
it is set, otherwise on the embedded server (`adapters.postgres.embedded`) in
`.milestones/bench-pg`. The HTTP
metrics talk to `milestones serve` started in a subprocess on 127.0.0.1 and a spare port.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from adapters.postgres.embedded import EmbeddedPostgres, drop_database, ensure_database
from adapters.signing import load_or_create_key
from api.bootstrap import Container, bootstrap, upgrade
from api.settings import Settings
from application.access import GlobalRole
from bench import workload

REPO = Path(__file__).resolve().parents[1]
BENCH_PG_DIR = REPO / ".milestones" / "bench-pg"


@dataclass(frozen=True)
class Sizes:
    """How big and how long each measurement is, for one mode (full, quick, smoke)."""

    mode: str
    write_seconds: float  # the closed-loop run that finds the maximum rate
    sweep_seconds: float  # each offered-load step of the chart
    lag_seconds: float
    # The big log (500,000 in full): 100 pages of the rebuild's 5,000 events, so its rate is
    # the steady one, and 400,000 events more than the small log, so a peak RSS within 1.2 ×
    # rules out keeping even ~40 bytes per event (a kept event is ~650 bytes stored). At
    # 1,000,000 the fill, the rebuild and the tamper-evidence check took a third of a full run.
    rebuild_events: int
    rebuild_small: int  # the log the peak RSS is compared with (100,000 in full)
    audit_small: int
    audit_samples: int
    as_of_events: int
    as_of_samples: int
    raw_rows: int  # rows of the raw one-INSERT-per-commit loop
    rebuild_deadline: float  # seconds a rebuild may run before it is stopped (and says so)

    @property
    def quick(self) -> bool:
        return self.mode != "full"


SIZES = {
    "full": Sizes("full", 20, 6, 20, 500_000, 100_000, 10_000, 400, 10_000, 200, 5000, 150),
    "quick": Sizes("quick", 8, 3, 8, 100_000, 10_000, 10_000, 200, 10_000, 100, 2000, 60),
    # CI's smoke test: every code path once, in well under a minute; its numbers mean little.
    "smoke": Sizes("smoke", 2, 1, 2, 12_000, 10_000, 10_000, 20, 1000, 20, 300, 60),
}


def machine() -> str:
    """A one-line description of where the numbers came from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} CPU ({cpu}), {memory:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def fresh_database(keep: bool = False) -> Iterator[str]:
    """A URI of a new, empty database, dropped afterwards (unless `keep`)."""
    given = os.environ.get("DATABASE_URL", "").strip()
    embedded: EmbeddedPostgres | None = None
    if given:
        server_uri = given
    else:
        embedded = EmbeddedPostgres(BENCH_PG_DIR)
        server_uri = embedded.start()
    dbname = f"ml_bench_{os.getpid()}_{time.time_ns()}"
    try:
        yield ensure_database(server_uri, dbname)
    finally:
        try:
            if not keep:
                drop_database(server_uri, dbname)
        finally:
            if embedded is not None:
                embedded.stop()


class Service:
    """`milestones serve` in a subprocess (API and projection runner in one process)."""

    def __init__(
        self,
        database_url: str,
        *,
        workers: int = 1,
        signing_key: Path,
        ready_seconds: float = 60,
    ) -> None:
        self.port = spare_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._data_dir = tempfile.TemporaryDirectory(prefix="milestones-bench-")
        # The service (on a DATABASE_URL) never makes a key: the bench gives it the deployment's.
        load_or_create_key(signing_key)
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "MILESTONES_DATA_DIR": self._data_dir.name,
            # One deployment, one key: snapshots the bench's own process takes must hold in the
            # service (each is signed with the deployment's key).
            "MILESTONES_SIGNING_KEY": str(signing_key.resolve()),
            "MILESTONES_LOG_LEVEL": "WARNING",
            "MILESTONES_LOG_FORMAT": "text",
            # Room for 16 clients' requests to be in flight at once.
            "MILESTONES_POOL_SIZE": "16",
            "MILESTONES_POOL_MAX_OVERFLOW": "8",
            # The 16 clients act as one principal: each may have one ?min_position read waiting
            # (the default of 8 per principal is a guard against one hostile caller, issue 13).
            "MILESTONES_WAITS_PER_PRINCIPAL": "16",
        }
        command = [
            sys.executable,
            "-c",
            "import sys; from cli.main import main; sys.exit(main())",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
        ]
        self.process = subprocess.Popen(command, env=env, cwd=REPO)
        self._wait_ready(ready_seconds)

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the service did not answer /health within {timeout:.0f} s")

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._data_dir.cleanup()


@dataclass
class Context:
    """Shared by the metrics of one run: the database, an in-process container, the service."""

    sizes: Sizes
    database_url: str  # the login's URI (raw baselines use it directly)
    container: Container
    tokens: dict[str, str]
    workers: int = 1
    service: Service | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def ledger(self) -> Any:
        return self.container.ledger

    def events(self) -> int:
        """How many events the log holds now."""
        return int(self.container.ledger.recorder.max_notification_id() or 0)

    def serve(self) -> Service:
        """The running service, started on first use."""
        if self.service is None:
            self.service = Service(
                self.database_url,
                workers=self.workers,
                signing_key=self.container.settings.signing_key_path,
            )
        return self.service

    def stop_service(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None

    def headers(self, principal: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[principal]}"}

    def catch_up(self) -> None:
        """Bring every view up to the head of the log, in this process."""
        self.container.runner.catch_up()


@contextmanager
def context(sizes: Sizes, *, workers: int = 1, keep: bool = False) -> Iterator[Context]:
    with fresh_database(keep) as url:
        settings = Settings(pool_size=4, pool_max_overflow=4)
        upgrade(url, settings)
        container = bootstrap(settings, url)
        try:
            tokens = {}
            for name, role in (
                (workload.MANAGER, GlobalRole.MEMBER),
                (workload.REVIEWER, GlobalRole.MEMBER),
                ("bench-auditor", GlobalRole.AUDITOR),
            ):
                container.principals.add(name, role)
                tokens[name] = container.principals.create_token(name)
            ctx = Context(sizes, url, container, tokens, workers=workers)
            try:
                yield ctx
            finally:
                ctx.stop_service()
        finally:
            container.close()
