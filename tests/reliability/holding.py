"""The service's own recorder, except that a save can be held open on purpose (check 3).

The hold happens where the service's other same-transaction records are written: after the
events are inserted, with the ordering lock taken, before the commit. Only this test process
builds a ledger with it (by topic); the service under test runs its own, unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from eventsourcing.persistence import StoredEvent
from psycopg import Cursor
from psycopg.rows import DictRow

from adapters.postgres.database import eventsourcing_env
from adapters.postgres.recorder import LedgerRecorder
from api.settings import Settings
from application.ledger import Ledger

TOPIC = "tests.reliability.holding:HoldingRecorder"


class HoldingRecorder(LedgerRecorder):
    seconds: ClassVar[float] = 0.0  # how long the next saves stay open; 0: not at all
    holding: ClassVar[threading.Event] = threading.Event()  # set once a save is being held

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_stored_events(curs, stored_events, **kwargs)
        if HoldingRecorder.seconds:
            HoldingRecorder.holding.set()
            # Another cursor: the library reads the events' positions from `curs`.
            with curs.connection.cursor() as extra:
                extra.execute("SELECT pg_sleep(%s)", (HoldingRecorder.seconds,), prepare=False)


def holding_ledger(url: str) -> Ledger:
    env = eventsourcing_env(url, Settings(pool_size=2, pool_max_overflow=0))
    env["CREATE_TABLE"] = "n"
    env["APPLICATION_RECORDER_TOPIC"] = TOPIC
    return Ledger(env=env)
