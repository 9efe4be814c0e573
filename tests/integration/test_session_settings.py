"""Every session the service opens runs without the planner's JIT compilation: its statements are
point reads and short pages, and a JIT compile chosen on a stale estimate (a table just bulk
loaded or restored, before ANALYZE) costs a project read tens of milliseconds
(`adapters.postgres.factory.NO_JIT`)."""

from __future__ import annotations

from adapters.postgres.recorder import LedgerRecorder
from api.bootstrap import Container


def test_the_event_store_and_the_views_read_without_jit(container: Container) -> None:
    with container.pool.connection() as conn:
        ours = conn.execute("SHOW jit").fetchone()
    recorder = container.ledger.recorder
    assert isinstance(recorder, LedgerRecorder)
    with recorder.datastore.get_connection() as conn:
        store = conn.execute("SELECT current_setting('jit') AS jit").fetchone()
        role = conn.execute("SELECT current_user AS role").fetchone()

    assert ours == ("off",)
    assert store is not None
    assert store["jit"] == "off"
    assert role is not None
    assert role["role"] != "postgres"  # the application role is still taken as well
