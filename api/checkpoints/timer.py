"""Signed checkpoints taken on a timer (`MILESTONES_CHECKPOINT_INTERVAL`), where the views run, by
exactly one process of the deployment: the one holding the signer's session lock, taken the way
a runner claims a view (`projections.claims`). When it dies its session ends, the lock is free,
and another process's timer takes it on its next tick."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import psycopg

from adapters.postgres.database import pool_conninfo
from api.checkpoints.errors import CheckpointError
from api.checkpoints.store import Checkpoints
from api.periodic import Periodic
from projections import claims

if TYPE_CHECKING:
    from api.bootstrap import Container

# The name the log lines had before checkpoints became a package.
log = logging.getLogger("api.checkpoints")

JOB = "checkpoints"


class CheckpointTimer(Periodic):
    """Takes a checkpoint every `interval` seconds (0: never), in a daemon thread, while this
    process leads (with no `conninfo`, it always does: a single-process store)."""

    def __init__(
        self,
        checkpoints: Checkpoints,
        interval: float,
        conninfo: Callable[[], str] | None = None,
        holder: str | None = None,
    ) -> None:
        super().__init__("checkpoints", interval, self.take)
        self._checkpoints = checkpoints
        self._conninfo = conninfo
        self._holder = holder or claims.worker_id()
        self._session: psycopg.Connection[Any] | None = None
        self._leading = False
        self.last_position: int | None = None

    @classmethod
    def of(cls, container: Container) -> CheckpointTimer:
        """The timer of a wired process, at `MILESTONES_CHECKPOINT_INTERVAL`."""
        conninfo = partial(pool_conninfo, container.pool)
        return cls(Checkpoints.of(container), container.settings.checkpoint_interval, conninfo)

    def leads(self) -> bool:
        """Whether this process is the deployment's signer now (its session lock is held)."""
        if self._conninfo is None:
            return True
        try:
            if self._session is None or self._session.closed:
                self._leading = False
                self._session = claims.connect(self._conninfo(), self._holder, None)
            if self._leading:
                self._session.execute("SELECT 1")  # the lock lives as long as the session
            else:
                self._leading = claims.try_lead(self._session, JOB)
                if self._leading:
                    log.info("this process (%s) signs the periodic checkpoints", self._holder)
        except psycopg.Error:
            log.warning("the checkpoint signer's session failed; trying again later")
            self._release()
        return self._leading

    def take(self) -> None:
        """One checkpoint now, if this process leads and the log moved; a failure is logged and
        tried again later."""
        if not self.leads():
            return
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
            log.info(
                "signed checkpoint at position %s with key %s",
                checkpoint.position,
                checkpoint.key_id,
            )

    def stop(self) -> None:
        super().stop()
        self._release()

    def _release(self) -> None:
        session, self._session, self._leading = self._session, None, False
        if session is not None:
            session.close()  # ends the session: the lock is free for another process
