"""One attempt per call of the event store's recorder, except after an aborted pipeline.

The library retries a failed call 10 times, 0.2 s apart, each waiting up to the pool timeout
for a connection: with the database down a request must answer 503 within the pool timeout,
not hang for 20 s. Pre-ping already replaces a stale pooled connection, the API's clients retry
on 503 (Retry-After) and the runner retries with back-off.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import OperationalError as StoreOperationalError
from psycopg import errors as psycopg_errors

# How often a call whose pipeline was aborted is tried, as the library would, with a short pause
# that grows, so that the clash's winner has committed.
PIPELINE_ATTEMPTS = 10
PIPELINE_PAUSE = 0.01


def without_retry(method: Callable[..., Any]) -> Callable[..., Any]:
    """The library's method without its retry decorator, but for an aborted pipeline.

    A version clash can surface as `PipelineAborted` (an OperationalError) from a statement
    after the failed insert, rather than as the insert's IntegrityError; tried again, it
    surfaces as the IntegrityError the ledger retries on fresh state.
    """
    once = inspect.unwrap(method)

    @functools.wraps(once)
    def call(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, PIPELINE_ATTEMPTS + 1):
            try:
                return once(*args, **kwargs)
            except StoreOperationalError as error:
                if attempt == PIPELINE_ATTEMPTS or not isinstance(
                    error.__cause__, psycopg_errors.PipelineAborted
                ):
                    raise
                time.sleep(PIPELINE_PAUSE * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    return call
