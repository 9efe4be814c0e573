"""`milestones serve` (the API and the projection worker) and `worker` (only the views)."""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import socket
import sys
import tempfile
import time
from typing import Any

from adapters.signing import SigningKeyError, key_id
from api.checkpoints import CheckpointTimer
from api.metrics import MULTIPROC_ENV
from api.pruning import AnswerPruner
from api.settings import Settings
from cli.supervisor import PARENT_ENV, RunnerProcess, die_with_parent, end_within
from cli.wiring import open_container

log = logging.getLogger("milestones")

# Seconds between the worker's looks at whether it was asked to stop.
SIGNAL_POLL = 0.2


def _has_signing_key(settings: Settings, command: str) -> bool:
    """Read the deployment's key before anything starts: a process that would sign checkpoints
    or snapshots with no key refuses to start, rather than make a key of its own (only on the
    embedded server, in development, is a missing key made, and the log says so)."""
    try:
        key = settings.signing_key_source.load()
    except SigningKeyError as error:
        print(f"milestones {command}: {error}", file=sys.stderr)
        return False
    log.info("signing with key %s", key_id(key.public_key()))
    return True


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
    taken = _port_taken(host, port)
    if taken is not None:
        # Before the database starts and before "serving on": a second `make run` on one port
        # says why it cannot serve, rather than starting, announcing and then failing.
        log.error(
            "cannot serve on %s:%s: %s; stop the server using it, or choose another port "
            "(--port or MILESTONES_PORT)",
            host,
            port,
            taken,
        )
        return 1
    if not _has_signing_key(settings, "serve"):
        return 2
    with open_container(settings) as container:
        # uvicorn re-raises SIGTERM/SIGINT once it has drained and shut down; by then only the
        # container is left to close (runner, pools, embedded server): the signal must not kill
        # us before that. One that comes before uvicorn listens for it is kept, not swallowed:
        # serve then stops instead of serving on as if never asked (but for the milliseconds
        # between the check below and uvicorn's own handlers: docs/operations.md).
        stopping: list[int] = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda received, _: stopping.append(received))
        database = "embedded" if container.embedded else "DATABASE_URL"
        log.info("serving on http://%s:%s, %d API process(es), %s", host, port, workers, database)
        if workers == 1:
            # The API in this process, the projection runner in a child process: in one process
            # they would share one GIL, and each round trip of a page would queue behind the
            # requests. Reads with ?min_position hear of the runner's commits by NOTIFY.
            with RunnerProcess(container.database_url, settings.shutdown_timeout):
                app = create_app(container, run_projections=False)
                try:
                    if not stopping:
                        uvicorn.run(app, **server_options)
                finally:
                    _stop_within(settings)
            return 0
        # N API processes spawned by uvicorn's supervisor (this process), each building its
        # own container; the projection runner runs here, once, not in every API process.
        os.environ["DATABASE_URL"] = container.database_url
        with tempfile.TemporaryDirectory(prefix="milestones-metrics-") as metrics_dir:
            os.environ[MULTIPROC_ENV] = metrics_dir  # counters shared by the API processes
            container.runner.start()
            container.deliverer.start()  # webhooks are delivered where the views run
            CheckpointTimer.of(container).start()  # a daemon thread, ended with the process
            AnswerPruner(container.ledger.store).start()  # the same
            try:
                if not stopping:
                    uvicorn.run(
                        "api.asgi:create_from_env", factory=True, workers=workers, **server_options
                    )
            finally:
                _stop_within(settings)
                container.deliverer.stop()
                container.runner.stop()
    return 0


def _stop_within(settings: Settings) -> None:
    """Once the API has drained: what is left (stopping the runner, its child given the shutdown
    timeout before SIGKILL, the pools, the embedded server) must end, even with a runner's page
    stuck on a lock."""
    end_within(2 * settings.shutdown_timeout + 10, "serve")


def cmd_worker(_: argparse.Namespace, settings: Settings) -> int:
    # What the signal handler does must take no lock: it runs in the main thread between two of
    # its bytecodes, and a lock the main thread holds there is never released. It once called
    # `threading.Event.set`; a second SIGTERM that came while the first handler held the
    # event's lock deadlocked the worker for good, orphaned and still holding its views (CI,
    # reliability check 6). Appending to a list takes none; the main thread polls it.
    received: list[int] = []
    running: list[bool] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        if not running:
            # Still starting (connecting, migrating): nothing to drain yet, and a connection
            # attempt must not hold the signal back until its timeout. The kernel ends the
            # process if unwinding hangs (an alarm takes no lock; a thread's start would).
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            signal.alarm(max(1, math.ceil(settings.shutdown_timeout)))
            raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    if parent := os.environ.get(PARENT_ENV):
        # Started by `serve`: end with it, even when it is SIGKILLed.
        die_with_parent()
        if os.getppid() != int(parent):
            return 0  # it died before we asked
    if not _has_signing_key(settings, "worker"):
        return 2
    with open_container(settings) as container:
        running.append(True)
        if not received:
            container.runner.start()
            container.deliverer.start()  # webhooks are delivered where the views run
            CheckpointTimer.of(container).start()  # a daemon thread, ended with the process
            AnswerPruner(container.ledger.store).start()  # the same
            log.info("projection worker %s running", container.runner.holder)
            while not received:
                time.sleep(SIGNAL_POLL)
        # However the shutdown goes (a page stuck on a lock), the process ends.
        end_within(settings.shutdown_timeout, "the projection worker")
        log.info("projection worker %s stopping", container.runner.holder)
    return 0


def _port_taken(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on now (in use, say), or None if it can."""
    if port == 0:
        return None
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        return error.strerror or str(error)
    return None
