"""Signed checkpoints taken on a timer (`MILESTONES_CHECKPOINT_INTERVAL`), where the views run."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from api.checkpoints.errors import CheckpointError
from api.checkpoints.store import Checkpoints
from api.periodic import Periodic

if TYPE_CHECKING:
    from api.bootstrap import Container

# The name the log lines had before checkpoints became a package.
log = logging.getLogger("api.checkpoints")


class CheckpointTimer(Periodic):
    """Takes a checkpoint every `interval` seconds (0: never), in a daemon thread."""

    def __init__(self, checkpoints: Checkpoints, interval: float) -> None:
        super().__init__("checkpoints", interval, self.take)
        self._checkpoints = checkpoints
        self.last_position: int | None = None

    @classmethod
    def of(cls, container: Container) -> CheckpointTimer:
        """The timer of a wired process, at `MILESTONES_CHECKPOINT_INTERVAL`."""
        return cls(Checkpoints.of(container), container.settings.checkpoint_interval)

    def take(self) -> None:
        """One checkpoint now, if the log moved; a failure is logged and tried again later."""
        try:
            checkpoint = self._checkpoints.create()
        except CheckpointError as error:
            log.error("no checkpoint taken: %s", error)
            return
        except Exception:
            log.warning("taking a checkpoint failed; trying again later", exc_info=True)
            return
        if checkpoint is not None and checkpoint.position != self.last_position:
            self.last_position = checkpoint.position
            log.info("signed checkpoint at position %s", checkpoint.position)
