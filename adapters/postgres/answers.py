"""Answers kept under an `Idempotency-Key`: a retried command is answered, never run twice.

A command that writes events keeps its plain result (`CommandResult`) in the events' own
transaction, completed with the position of its last event once that is known, so the answer
exists exactly when the events do; the API renders it. Any other answer the API keeps (a
refusal, a no-op) is kept afterwards, as the API rendered it. A session advisory lock on
(principal, key) makes a retry wait for the first request, in every process.

The table (`kept_answers`, migration 0009) is a cache of answers, not the record: it is not
append-only and not in the hash chain. An answer expires `ANSWERS_KEPT_FOR` after it was kept:
a lookup forgets an expired one (under the key's lock, so the key is free for the retry that
looked), and `prune` deletes every expired one (`api.pruning` calls it every hour).
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
from application.results import ANSWERS_KEPT_FOR, AnswerKey, CommandResult, KeptAnswer

TABLE = "kept_answers"
# Rows one pruning statement deletes: a long backlog is pruned in short transactions.
PRUNE_BATCH = 10_000


class AnswerTable:
    def __init__(self, schema: str) -> None:
        self.table = TABLE
        table = SQL("{}.{}").format(Identifier(schema), Identifier(self.table))
        self._insert = SQL(
            "INSERT INTO {table} (principal, key, request_hash, status, headers, body, result) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)"
        ).format(table=table)
        self._select = SQL(
            "SELECT request_hash, status, headers, body, result,"
            " kept_at <= now() - %s AS expired"
            " FROM {table} WHERE principal = %s AND key = %s"
        ).format(table=table)
        self._forget = SQL(
            "DELETE FROM {table} WHERE principal = %s AND key = %s AND kept_at <= now() - %s"
        ).format(table=table)
        self._prune = SQL(
            "DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table}"
            " WHERE kept_at <= now() - %s LIMIT %s)"
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
                None if result is None else Jsonb(result.as_json()),
            ),
            prepare=False,  # see AsOfIndex.insert
        )

    def find(self, conn: Connection[Any], principal: str, key: str) -> KeptAnswer | None:
        """The live answer under (principal, key); an expired one is deleted and not returned
        (the caller holds the key's lock, so nothing else writes under it meanwhile)."""
        with conn.cursor() as curs:
            row = curs.execute(self._select, (ANSWERS_KEPT_FOR, principal, key)).fetchone()
            if row is None:
                return None
            request_hash, status, headers, body, result, expired = (
                (row[k] for k in ("request_hash", "status", "headers", "body", "result", "expired"))
                if isinstance(row, dict)
                else row
            )
            if expired:
                curs.execute(self._forget, (principal, key, ANSWERS_KEPT_FOR))
                return None
        answer_key = AnswerKey(principal, key, bytes(request_hash))
        if result is not None:
            loaded = result if isinstance(result, dict) else json.loads(result)
            return KeptAnswer(answer_key, result=CommandResult.from_json(loaded))
        return KeptAnswer(answer_key, status=status, headers=dict(headers), body=bytes(body))

    def prune(self, conn: Connection[Any]) -> int:
        """Delete every expired answer, `PRUNE_BATCH` rows per transaction; how many."""
        pruned = 0
        while True:
            with conn.transaction(), conn.cursor() as curs:
                curs.execute(self._prune, (ANSWERS_KEPT_FOR, PRUNE_BATCH))
                deleted = max(curs.rowcount, 0)
            pruned += deleted
            if deleted < PRUNE_BATCH:
                return pruned

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
