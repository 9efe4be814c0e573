"""`serve`'s projection worker as a child process: restarted when it dies, and never outliving
`serve`."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger("milestones")

# Set by `serve` in the environment of the projection worker it starts: its own process id.
PARENT_ENV = "MILESTONES_SERVE_PID"


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
                [sys.executable, "-m", "cli", "worker"],
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


def end_within(seconds: float, what: str) -> None:
    """End this process (os._exit) if it is still running `seconds` from now.

    Armed when a process is asked to stop: its orderly shutdown joins threads that may be stuck
    in PostgreSQL (a runner's page waiting on a lock held by a migration or an open
    transaction), and a SIGTERM must not wait for them forever. What it cuts short is what a
    SIGKILL would: an uncommitted page, rolled back by the server and applied again by the
    next runner (the views' pages are idempotent with their tracking row).
    """

    def deadline() -> None:
        time.sleep(seconds)
        log.error("%s did not stop within %.1f s of being asked to; exiting now", what, seconds)
        for handler in logging.getLogger().handlers + log.handlers:
            handler.flush()
        os._exit(1)

    threading.Thread(target=deadline, name="stop-deadline", daemon=True).start()


def die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when the thread that started it ends (as `api.asgi`
    does for API workers, without importing the app)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        log.debug("prctl(PR_SET_PDEATHSIG) is not available", exc_info=True)
