"""Expired kept answers pruned on a timer, where the views run (one process per deployment's
runner, like the checkpoint timer): `LedgerStore.prune_answers` every hour, and once at start."""

from __future__ import annotations

import logging
import threading

from application.ports import LedgerStore

log = logging.getLogger(__name__)

# The table holds at most ANSWERS_KEPT_FOR (24 h) of answers plus this.
PRUNE_EVERY_SECONDS = 3600.0


class AnswerPruner:
    """Calls `store.prune_answers()` at start and every `interval` seconds, in a daemon thread."""

    def __init__(self, store: LedgerStore, interval: float = PRUNE_EVERY_SECONDS) -> None:
        self._store = store
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="answer-pruner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def prune(self) -> int:
        """One pruning now; how many answers it forgot (0 after a failure, logged)."""
        try:
            pruned = self._store.prune_answers()
        except Exception:
            log.warning("pruning expired kept answers failed; trying again later", exc_info=True)
            return 0
        if pruned:
            log.info("pruned %d expired kept answer(s)", pruned)
        return pruned

    def _run(self) -> None:
        self.prune()
        while not self._stop.wait(self._interval):
            self.prune()
