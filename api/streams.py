"""Long answers (exports, the event stream) bounded in time, whatever the client does.

A streamed answer waits for its client at each write: the server's buffers fill up when the
client reads nothing, and the write waits until it does. `BoundedStreamingResponse` gives each
write `send_timeout` seconds and the whole answer a deadline; past either, the answer is cut
off: the connection is closed without the end of the chunked body, so the client sees an
incomplete answer (never a short export that looks whole), and nothing of it is left in the
process. No database connection is held across a write (see `api.exports`, `api.feed`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Mapping

import anyio
from fastapi.responses import StreamingResponse
from starlette.types import Message, Send

log = logging.getLogger(__name__)


class CutOffError(Exception):
    """A streamed answer ran past its deadline, or its client accepted nothing for too long."""


class BoundedStreamingResponse(StreamingResponse):
    """A `StreamingResponse` whose writes wait at most `send_timeout` s each for the client,
    and which ends after `deadline` s in all (cut off if its body is not done by then)."""

    def __init__(
        self,
        content: AsyncIterable[str],
        *,
        deadline: float,
        send_timeout: float,
        media_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(content, media_type=media_type, headers=headers)
        self.deadline = deadline
        self.send_timeout = send_timeout

    async def stream_response(self, send: Send) -> None:
        ends_at = anyio.current_time() + self.deadline
        start: Message = {
            "type": "http.response.start",
            "status": self.status_code,
            "headers": self.raw_headers,
        }
        try:
            await self._send_within(send, ends_at, start)
            # The body is produced under the deadline too: a source that stalls is cut off.
            with anyio.fail_after(max(ends_at - anyio.current_time(), 0)):
                async for chunk in self.body_iterator:
                    data = chunk.encode(self.charset) if isinstance(chunk, str) else bytes(chunk)
                    body: Message = {"type": "http.response.body", "body": data, "more_body": True}
                    await self._send_within(send, ends_at, body)
            end: Message = {"type": "http.response.body", "body": b"", "more_body": False}
            await self._send_within(send, ends_at, end)
        except (TimeoutError, CutOffError) as error:
            # Returning without the last message makes the server close the connection: the
            # client sees a truncated answer. (uvicorn logs that it was not completed.)
            log.warning("streamed answer cut off: %s", error or "past its deadline")
            return
        finally:
            # Whatever ended the answer (the client gone, the cut-off), the body's source ends
            # now rather than whenever the garbage collector finds it.
            closing = getattr(self.body_iterator, "aclose", None)
            if closing is not None:
                with anyio.CancelScope(shield=True):
                    await closing()

    async def _send_within(self, send: Send, ends_at: float, message: Message) -> None:
        limit = min(self.send_timeout, ends_at - anyio.current_time())
        with anyio.move_on_after(max(limit, 0)) as waited:
            await send(message)
        if waited.cancelled_caught:
            raise CutOffError(
                f"the client accepted nothing for {self.send_timeout:g} s"
                if limit == self.send_timeout
                else "past its deadline"
            )
