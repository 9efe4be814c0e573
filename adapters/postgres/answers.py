"""Answers kept under an `Idempotency-Key`: a retried command is answered, never run twice.

A command that writes events keeps its plain result (`CommandResult`) in the events' own
transaction, completed with the position of its last event once that is known, so the answer
exists exactly when the events do; the API renders it. Any other answer below 500 (a refusal,
a no-op) is kept afterwards, as the API rendered it. A session advisory lock on (principal,
key) makes a retry wait for the first request, in every process.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from psycopg import Connection, Cursor
from psycopg.sql import SQL, Identifier
from psycopg.types.json import Jsonb

from application.ports import PendingAnswer
from application.results import AnswerKey, CommandResult, KeptAnswer


class AnswerTable:
    def __init__(self, schema: str, events_table: str) -> None:
        self.table = f"{events_table}_idempotency"
        table = SQL("{}.{}").format(Identifier(schema), Identifier(self.table))
        self._insert = SQL(
            "INSERT INTO {table} "
            "(principal, key, request_hash, status, headers, body, position, result) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        ).format(table=table)
        self._select = SQL(
            "SELECT request_hash, status, headers, body, result FROM {table} "
            "WHERE principal = %s AND key = %s"
        ).format(table=table)

    def insert_with_events(
        self, curs: Cursor[Any], answers: Sequence[PendingAnswer], positions: Sequence[int]
    ) -> None:
        """Keep each command's result; the saved events are theirs in order, so a command's
        last event is at the position after the counts of those before it and its own."""
        for pending in answers:
            end = pending.before + pending.events
            result = replace(pending.result, position=positions[end - 1])
            self._write(curs, KeptAnswer(pending.key, result=result))

    def keep(self, conn: Connection[Any], answer: KeptAnswer) -> None:
        with conn.cursor() as curs:
            self._write(curs, answer)

    def _write(self, curs: Cursor[Any], answer: KeptAnswer) -> None:
        result = answer.result
        curs.execute(
            self._insert,
            (
                answer.key.principal,
                answer.key.key,
                answer.key.request_hash,
                answer.status,
                None if result is not None else Jsonb(answer.headers),
                None if result is not None else answer.body,
                answer.position,
                None if result is None else Jsonb(result.as_json()),
            ),
            prepare=False,  # see AsOfIndex.insert
        )

    def find(self, conn: Connection[Any], principal: str, key: str) -> KeptAnswer | None:
        with conn.cursor() as curs:
            row = curs.execute(self._select, (principal, key)).fetchone()
        if row is None:
            return None
        request_hash, status, headers, body, result = (
            (row[k] for k in ("request_hash", "status", "headers", "body", "result"))
            if isinstance(row, dict)
            else row
        )
        answer_key = AnswerKey(principal, key, bytes(request_hash))
        if result is not None:
            loaded = result if isinstance(result, dict) else json.loads(result)
            return KeptAnswer(answer_key, result=CommandResult.from_json(loaded))
        return KeptAnswer(answer_key, status=status, headers=dict(headers), body=bytes(body))

    @staticmethod
    @contextmanager
    def lock(conn: Connection[Any], principal: str, key: str) -> Iterator[None]:
        """Hold a session advisory lock on (principal, key) across processes."""
        digest = hashlib.sha256(f"idempotency\0{principal}\0{key}".encode()).digest()
        lock_id = int.from_bytes(digest[:8], "big", signed=True)
        conn.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (lock_id,))
