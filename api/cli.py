"""The `milestones` command line: serve, worker, db upgrade, principals, tokens, demo, views."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from adapters.postgres.database import resolve_database_url
from adapters.postgres.principals import PrincipalError
from api import cli_trust
from api.bootstrap import Container, bootstrap, upgrade
from api.checkpoints import CheckpointTimer
from api.logs import configure_logging
from api.metrics import MULTIPROC_ENV
from api.preflight import StartupError
from api.settings import Settings, SettingsError
from application.access import GlobalRole

log = logging.getLogger("milestones")

# Set by `serve` in the environment of the projection worker it starts: its own process id.
PARENT_ENV = "MILESTONES_SERVE_PID"


@contextmanager
def _container(settings: Settings, *, migrate_embedded: bool = True) -> Iterator[Container]:
    """A wired process; with the embedded server it also migrates, since nobody else can."""
    url, embedded = resolve_database_url(settings)
    try:
        if embedded is not None and migrate_embedded:
            upgrade(url, settings)
        container = bootstrap(settings, url, embedded=embedded)
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    try:
        yield container
    finally:
        container.close()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app

    workers = args.workers or settings.workers
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    server_options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,  # ours (api.logs), in this process and in each worker
        "access_log": False,  # the request middleware logs each request, with its id
        "timeout_graceful_shutdown": settings.shutdown_timeout,
    }
    with _container(settings) as container:
        # uvicorn re-raises SIGTERM/SIGINT once it has drained and shut down; by then only the
        # container is left to close (runner, pools, embedded server): the signal must not kill
        # us before that.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: None)
        database = "embedded" if container.embedded else "DATABASE_URL"
        log.info("serving on http://%s:%s, %d API process(es), %s", host, port, workers, database)
        if workers == 1:
            # The API in this process, the projection runner in a child process: in one process
            # they would share one GIL, and each round trip of a page would queue behind the
            # requests. Reads with ?min_position hear of the runner's commits by NOTIFY.
            with RunnerProcess(container.database_url, settings.shutdown_timeout):
                uvicorn.run(create_app(container, run_projections=False), **server_options)
            return 0
        # N API processes spawned by uvicorn's supervisor (this process), each building its
        # own container; the projection runner runs here, once, not in every API process.
        os.environ["DATABASE_URL"] = container.database_url
        with tempfile.TemporaryDirectory(prefix="milestones-metrics-") as metrics_dir:
            os.environ[MULTIPROC_ENV] = metrics_dir  # counters shared by the API processes
            container.runner.start()
            CheckpointTimer.of(container).start()  # a daemon thread, ended with the process
            try:
                uvicorn.run(
                    "api.asgi:create_from_env", factory=True, workers=workers, **server_options
                )
            finally:
                container.runner.stop()
    return 0


class RunnerProcess:
    """`milestones worker` as a child of `serve`: restarted when it dies, stopped (SIGTERM, then
    SIGKILL) when `serve` is done, and SIGTERMed by Linux if `serve` dies first.

    It runs in a session of its own, so a Ctrl-C meant for `serve` does not stop the views
    while the API drains its last requests (which may wait for them).
    """

    RESTART_FIRST = 0.5
    RESTART_MAX = 10.0

    def __init__(self, database_url: str, stop_timeout: float) -> None:
        self._env = {**os.environ, "DATABASE_URL": database_url, PARENT_ENV: str(os.getpid())}
        self._stop_timeout = stop_timeout
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._supervise, name="runner-process")

    def __enter__(self) -> RunnerProcess:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        with self._lock:
            child = self._child
            if child is not None and child.poll() is None:
                child.terminate()
        self._thread.join()

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        with self._lock:
            if self._stop.is_set():
                return None
            self._child = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "worker"],
                env=self._env,
                start_new_session=True,
            )
            return self._child

    def _supervise(self) -> None:
        # The thread that forks is the "parent" PR_SET_PDEATHSIG watches: it lives until the
        # child is gone.
        backoff = self.RESTART_FIRST
        while (child := self._spawn()) is not None:
            started = time.monotonic()
            while child.poll() is None and not self._stop.wait(0.2):
                pass
            if self._stop.is_set():
                try:
                    child.wait(self._stop_timeout)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
                return
            if time.monotonic() - started > self.RESTART_MAX * 3:
                backoff = self.RESTART_FIRST  # it had been running fine
            log.warning(
                "projection worker exited with code %s; restarting in %.1fs",
                child.returncode,
                backoff,
            )
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, self.RESTART_MAX)


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when the thread that started it ends (as `api.asgi`
    does for API workers, without importing the app)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        log.debug("prctl(PR_SET_PDEATHSIG) is not available", exc_info=True)


def cmd_worker(_: argparse.Namespace, settings: Settings) -> int:
    if parent := os.environ.get(PARENT_ENV):
        # Started by `serve`: end with it, even when it is SIGKILLed.
        _die_with_parent()
        if os.getppid() != int(parent):
            return 0  # it died before we asked
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with _container(settings) as container:
        container.runner.start()
        CheckpointTimer.of(container).start()  # a daemon thread, ended with the process
        log.info("projection worker %s running", container.runner.holder)
        stop.wait()
        log.info("projection worker %s stopping", container.runner.holder)
    return 0


def cmd_db_upgrade(_: argparse.Namespace, settings: Settings) -> int:
    url, embedded = resolve_database_url(settings)
    try:
        upgrade(settings.owner_url or url, settings)
    finally:
        if embedded is not None:
            embedded.stop()
    print("database is up to date")
    return 0


def cmd_principal_add(args: argparse.Namespace, settings: Settings) -> int:
    with _container(settings) as container:
        principal = container.principals.add(args.name, GlobalRole(args.role))
    print(f"added {principal.name} ({principal.role})")
    return 0


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    with _container(settings) as container:
        print(container.principals.create_token(args.name))
    return 0


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    with _container(settings) as container:
        revoked = container.principals.revoke_token(args.token)
    print("revoked" if revoked else "no such active token")
    return 0 if revoked else 1


def cmd_projections_status(_: argparse.Namespace, settings: Settings) -> int:
    from projections.status import view_statuses

    with _container(settings) as container, container.pool.connection() as conn:
        statuses = view_statuses(container.ledger, conn, container.runner.names)
    print(f"{'view':<12} {'position':>10} {'head':>10} {'lag':>8} {'lag s':>9}  worker")
    for status in statuses:
        print(
            f"{status.name:<12} {status.position:>10} {status.head:>10} {status.lag_events:>8}"
            f" {status.lag_seconds:>9.1f}  {status.holder or '-'}"
        )
    return 0


def cmd_projections_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from api.progress import ProgressBar
    from projections.rebuild import RebuildError

    with _container(settings) as container:
        names = container.runner.names if args.all else [args.name]
        if unknown := sorted(set(names) - set(container.runner.names)):
            print(
                f"milestones: no view named {', '.join(unknown)}; the views are "
                f"{', '.join(container.runner.names)}",
                file=sys.stderr,
            )
            return 2
        # --all reads the log once for every view (each swapped in once all have caught up).
        bar = ProgressBar("every view" if args.all else args.name)
        try:
            if args.all:
                read = container.runner.rebuild_all(progress=bar)
            else:
                read = container.runner.rebuild(args.name, progress=bar)
        except RebuildError as error:
            print(f"milestones: {error}", file=sys.stderr)
            return 1
        bar.finish(read)
        print(f"rebuilt {', '.join(names)}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from api.demo import load_demo

    with _container(settings) as container:
        container.runner.catch_up()
        load_demo(container, base_url=f"http://{settings.host}:{settings.port}", out=sys.stdout)
        container.runner.catch_up()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="milestones", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API and the projection workers")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="API processes (default MILESTONES_WORKERS, 1)")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("worker", help="run only the projection workers").set_defaults(func=cmd_worker)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="create or migrate every table").set_defaults(func=cmd_db_upgrade)

    principal = sub.add_parser("principal").add_subparsers(dest="principal", required=True)
    add = principal.add_parser("add", help="create a principal")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in GlobalRole], default="member")
    add.set_defaults(func=cmd_principal_add)

    token = sub.add_parser("token").add_subparsers(dest="token", required=True)
    create = token.add_parser("create", help="print a new bearer token for a principal")
    create.add_argument("name")
    create.set_defaults(func=cmd_token_create)
    revoke = token.add_parser("revoke", help="revoke a bearer token")
    revoke.add_argument("token")
    revoke.set_defaults(func=cmd_token_revoke)

    views = sub.add_parser("projections").add_subparsers(dest="projections", required=True)
    views.add_parser("status", help="position and lag of each view").set_defaults(
        func=cmd_projections_status
    )
    rebuild = views.add_parser("rebuild", help="rebuild a view from the events")
    target = rebuild.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?")
    target.add_argument("--all", action="store_true")
    rebuild.set_defaults(func=cmd_projections_rebuild)

    sub.add_parser("demo", help="load a demo project and print tokens").set_defaults(func=cmd_demo)
    cli_trust.register(sub, _container)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level, settings.log_format)
        func: Callable[[argparse.Namespace, Settings], int] = args.func
        return func(args, settings)
    except (SettingsError, PrincipalError, StartupError) as error:
        print(f"milestones: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
