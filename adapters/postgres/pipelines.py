"""psycopg's pipeline sync, made safe for payloads larger than the socket's send buffer.

psycopg (3.3.9, both the C and the Python implementation) sends a pipeline's queued commands in
`pipeline_communicate` and stops as soon as the queue is empty, even when its last `flush()`
could not hand every byte to the socket. `Pipeline.sync()` then only waits to read results the
server can never send, since it is still waiting for the rest of the data: the connection hangs
for ever, the server in "ClientRead". A Unix socket's send buffer (~200 KB) makes it happen from
about 1 MB of data in one save — a few large commands in one group commit — and the hung save
holds the events table's ordering lock, so every later command waits behind it. Over TCP the
buffers grow large enough that it was not seen. (psycopg issue #685 fixed the same wait on a
pipeline's exit, not on `sync()`.)

`install()` replaces the generator psycopg's pipelines call with one that keeps flushing (and
reading results meanwhile, so the server never blocks on its own output) until everything is
sent. It is the library's Python implementation with that one change.
"""

from __future__ import annotations

from collections import deque

import psycopg._pipeline_base as pipeline_base
from psycopg import errors as e
from psycopg.abc import PipelineCommand, PQGen
from psycopg.generators import _consume_notifies
from psycopg.pq import ExecStatus
from psycopg.pq.abc import PGconn, PGresult
from psycopg.waiting import Ready, Wait

_COPY = (ExecStatus.COPY_IN, ExecStatus.COPY_OUT, ExecStatus.COPY_BOTH)


def pipeline_communicate(
    pgconn: PGconn, commands: deque[PipelineCommand]
) -> PQGen[list[list[PGresult]]]:
    """Send the queued commands while receiving results; return once every command is sent
    and every byte flushed. The results, including single PIPELINE_SYNC elements."""
    results: list[list[PGresult]] = []
    while True:
        while not (ready := (yield Wait.RW)):
            continue
        if ready & Ready.R:
            pgconn.consume_input()
            _consume_notifies(pgconn)
            res: list[PGresult] = []
            while not pgconn.is_busy():
                if (r := pgconn.get_result()) is None:
                    if not res:
                        break
                    results.append(res)
                    res = []
                elif r.status == ExecStatus.PIPELINE_SYNC:
                    results.append([r])
                elif r.status in _COPY:
                    raise e.NotSupportedError("COPY cannot be used in pipeline mode")
                else:
                    res.append(r)
        if ready & Ready.W:
            unsent = pgconn.flush()
            if commands:
                commands.popleft()()
            elif not unsent:
                break
    return results


def install() -> None:
    """Make every psycopg pipeline of this process send with `pipeline_communicate` (idempotent)."""
    # An attribute psycopg does not export: set by name (its type is the same generator).
    setattr(pipeline_base, "pipeline_communicate", pipeline_communicate)  # noqa: B010
