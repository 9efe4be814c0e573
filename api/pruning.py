"""Expired kept answers pruned on a timer, where the views run (one process per deployment's
runner, like the checkpoint timer): `LedgerStore.prune_answers` every hour, and once at start."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from api.periodic import Periodic
from application.ports import LedgerStore

log = logging.getLogger(__name__)

# The table holds at most ANSWERS_KEPT_FOR (24 h) of answers plus this.
PRUNE_EVERY_SECONDS = 3600.0


class AnswerPruner(Periodic):
    """Calls `store.prune_answers()` at start and every `interval` seconds, in a daemon thread."""

    def __init__(self, store: LedgerStore, interval: float = PRUNE_EVERY_SECONDS) -> None:
        super().__init__("answer-pruner", interval, self.prune, at_start=True)
        self._store = store

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


# Webhook delivery log rows older than `MILESTONES_WEBHOOK_LOG_DAYS` are deleted this often.
PRUNE_DELIVERIES_EVERY_SECONDS = 3600.0


class DeliveryLogPruner(Periodic):
    """Deletes webhook delivery log rows older than `days`, at start and every hour."""

    def __init__(
        self,
        prune: Callable[[timedelta], int],
        days: int,
        interval: float = PRUNE_DELIVERIES_EVERY_SECONDS,
    ) -> None:
        super().__init__(
            "delivery-log-pruner", interval if days > 0 else 0, self.prune, at_start=True
        )
        self._prune = prune
        self._age = timedelta(days=days)

    def prune(self) -> int:
        try:
            pruned = self._prune(self._age)
        except Exception:
            log.warning(
                "pruning the webhook delivery log failed; trying again later", exc_info=True
            )
            return 0
        if pruned:
            log.info("pruned %d webhook delivery log row(s)", pruned)
        return pruned
