"""Signed checkpoints taken on a timer (`MILESTONES_CHECKPOINT_INTERVAL`), where the views run."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from api.checkpoints.errors import CheckpointError
from api.checkpoints.store import Checkpoints

if TYPE_CHECKING:
    from api.bootstrap import Container

# The name the log lines had before checkpoints became a package.
log = logging.getLogger("api.checkpoints")


class CheckpointTimer:
    """Takes a checkpoint every `interval` seconds (0: never), in a daemon thread."""

    def __init__(self, checkpoints: Checkpoints, interval: float) -> None:
        self._checkpoints = checkpoints
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_position: int | None = None

    @classmethod
    def of(cls, container: Container) -> CheckpointTimer:
        """The timer of a wired process, at `MILESTONES_CHECKPOINT_INTERVAL`."""
        return cls(Checkpoints.of(container), container.settings.checkpoint_interval)

    def start(self) -> None:
        if self._interval <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                checkpoint = self._checkpoints.create()
            except CheckpointError as error:
                log.error("no checkpoint taken: %s", error)
                continue
            except Exception:
                log.warning("taking a checkpoint failed; trying again later", exc_info=True)
                continue
            if checkpoint is not None and checkpoint.position != self.last_position:
                self.last_position = checkpoint.position
                log.info("signed checkpoint at position %s", checkpoint.position)
