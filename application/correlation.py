"""The correlation id of the request being served: which request caused the events a save writes.

Set once per request at the HTTP edge (`api.middleware`: the Idempotency-Key when given, else the
X-Request-ID, else one made up); read by `Ledger._save`, in the caller's own thread, so a group
commit led by another request's thread still writes each command's own id.
"""

from __future__ import annotations

from contextvars import ContextVar

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
