"""Refuses request bodies over 1 MiB with 413 before anything parses them (ASGI middleware);
artifact uploads alone are let through, to be streamed and limited by their own size.

A declared Content-Length over the limit is refused at once; a body that arrives without one
(chunked) is read here as it streams and refused as soon as it passes the limit, so no route,
validator or JSON parser ever sees more than the limit.
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
# Uploads of artifacts are streamed to a file and limited by their own setting
# (`MILESTONES_ARTIFACT_MAX_BYTES`, api/uploads.py): never buffered here.
STREAMED = re.compile(r"^/v1/projects/[^/]+/artifacts/?$")


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "type": "https://milestone-ledger.dev/problems/payload-too-large",
            "title": "Payload too large",
            "status": 413,
            "detail": f"request bodies are limited to {limit} bytes",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope.get("method") == "POST" and STREAMED.match(scope.get("path", ""))
        ):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await _refuse(send, self.max_bytes)
                    return
        if any(name == b"content-length" for name, _ in scope.get("headers", ())):
            # The server stops reading at the declared length (h11 enforces it).
            await self.app(scope, receive, send)
            return
        # No length declared (chunked): read the body here, up to the limit, then replay it.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; let the app see the disconnect
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await _refuse(send, self.max_bytes)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        buffered: list[Message] = [
            {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        ]

        async def replay() -> Message:
            if buffered:
                return buffered.pop()
            return await receive()

        await self.app(scope, replay, send)
