"""Whether the tokens behind open streams still let their callers in: revocation and expiry end
a stream within a second, at the cost of one lookup per token (not per stream) at most every
`FRESH` seconds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import anyio

from application.access import Principal

log = logging.getLogger(__name__)

# A verdict is reused for this long by every stream holding the same token.
FRESH = 0.25
# Verdicts not asked for this long are forgotten (their streams have ended).
FORGET_AFTER = 10.0


class TokenChecks:
    """The principals behind the tokens of open streams, looked up again once `FRESH` s old.

    Concurrent checks of one token share one lookup. A lookup that fails (the database is
    away) counts as a refusal: a stream cannot show that its token is still good, so it ends,
    and its client resumes once the service answers again.
    """

    def __init__(
        self, authenticate: Callable[[str], Principal | None], limiter: anyio.CapacityLimiter
    ) -> None:
        """`authenticate(token)` is the requests' own lookup (revocation and expiry included);
        `limiter` bounds the lookups' threads."""
        self._authenticate = authenticate
        self._limiter = limiter
        self._verdicts: dict[str, tuple[float, Principal | None]] = {}
        self._pending: dict[str, asyncio.Future[Principal | None]] = {}

    async def principal(self, token: str) -> Principal | None:
        """The principal `token` still authenticates; None once it is revoked or expired."""
        now = anyio.current_time()
        known = self._verdicts.get(token)
        if known is not None and now - known[0] < FRESH:
            return known[1]
        pending = self._pending.get(token)
        if pending is None or pending.get_loop() is not asyncio.get_running_loop():
            pending = asyncio.ensure_future(self._look_up(token))
            self._pending[token] = pending
        # Shielded: one stream cancelled (its client gone) does not cancel the others' answer.
        return await asyncio.shield(pending)

    async def _look_up(self, token: str) -> Principal | None:
        verdict: Principal | None
        try:
            verdict = await anyio.to_thread.run_sync(
                self._authenticate, token, limiter=self._limiter
            )
        except Exception:
            log.warning("could not check an open stream's token; ending it", exc_info=True)
            verdict = None
        finally:
            self._pending.pop(token, None)
        now = anyio.current_time()
        self._verdicts[token] = (now, verdict)
        for stale in [t for t, (at, _) in self._verdicts.items() if now - at > FORGET_AFTER]:
            del self._verdicts[stale]
        return verdict
