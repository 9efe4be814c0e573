"""A job run every so many seconds in a daemon thread, until stopped: the checkpoint timer and
the pruning of expired kept answers are two of them, where the views run."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    """Calls `job()` every `interval` seconds (0 or less: never), and once at start when
    `at_start`; the job logs its own failures (an exception would end the thread)."""

    def __init__(
        self, name: str, interval: float, job: Callable[[], object], *, at_start: bool = False
    ) -> None:
        self._name = name
        self._interval = interval
        self._job = job
        self._at_start = at_start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._interval <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        if self._at_start:
            self._job()
        while not self._stop.wait(self._interval):
            self._job()
