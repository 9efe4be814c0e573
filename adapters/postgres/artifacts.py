"""Artifacts: files kept by content (SHA-256) per project, append-only, in PostgreSQL.

An upload reaches here already spooled and hashed (api/routes/artifacts.py reads the client's
body into a temporary file, never into memory, and never while holding a connection). Here it is
written by one binary COPY, streamed from that file in 1 MiB pieces, in one short transaction:
a process killed mid-write leaves nothing, and the database checks that the digest and size it
is given are the content's own (migration 0011). Reads take slices (`substring` of a value stored
EXTERNAL fetches only the chunks it needs), one short query per slice.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO
from uuid import UUID

from psycopg import Connection, errors
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from domain.entities import ArtifactRef

Pool = ConnectionPool[Connection[TupleRow]]

PIECE = 1024 * 1024  # bytes written or read per step
_COPY = (
    "COPY artifacts (project_id, sha256, size, media_type, filename, uploaded_by, content)"
    " FROM STDIN (FORMAT BINARY)"
)
# PostgreSQL's binary COPY: signature, flags, header extension length; then tuples; then -1.
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)
_INT2 = struct.Struct(">h")
_INT4 = struct.Struct(">i")
_INT8 = struct.Struct(">q")


@dataclass(frozen=True)
class Artifact:
    """What is known of a stored file, without its bytes."""

    project_id: UUID
    sha256: str  # hex
    size: int
    media_type: str
    filename: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
            "filename": self.filename,
        }


def _field(value: bytes | None) -> bytes:
    return _INT4.pack(-1) if value is None else _INT4.pack(len(value)) + value


def copy_binary_row(fields: list[bytes | None], content: IO[bytes], size: int) -> Iterator[bytes]:
    """One tuple of a binary COPY: `fields`, then `content` (`size` bytes) as the last field,
    read piece by piece (the caller writes each piece as it comes)."""
    yield COPY_HEADER + _INT2.pack(len(fields) + 1) + b"".join(_field(f) for f in fields)
    yield _INT4.pack(size)
    left = size
    while left > 0:
        piece = content.read(min(PIECE, left))
        if not piece:
            raise ValueError("the spooled file is shorter than its size")
        left -= len(piece)
        yield piece
    yield COPY_TRAILER


class Artifacts:
    """The artifacts table: store a spooled file once per project and digest, and read it."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def put(
        self,
        project_id: UUID,
        content: IO[bytes],
        *,
        sha256: bytes,
        size: int,
        media_type: str,
        filename: str | None,
        uploaded_by: str,
    ) -> tuple[Artifact, bool]:
        """Store the file unless the project has it already; (the artifact, whether stored now).

        A file the project holds already keeps its first media type and file name: the digest
        names the bytes, and the bytes do not change.
        """
        existing = self.get(project_id, sha256.hex())
        if existing is not None:
            return existing, False
        fields = [
            project_id.bytes,
            sha256,
            _INT8.pack(size),
            media_type.encode(),
            None if filename is None else filename.encode(),
            uploaded_by.encode(),
        ]
        try:
            with (
                self._pool.connection() as conn,
                conn.cursor() as cursor,
                cursor.copy(_COPY) as copy,
            ):
                for piece in copy_binary_row(fields, content, size):
                    copy.write(piece)
        except errors.UniqueViolation:  # the same bytes, uploaded at the same moment
            stored = self.get(project_id, sha256.hex())
            assert stored is not None, "a unique violation names a stored row"
            return stored, False
        artifact = Artifact(project_id, sha256.hex(), size, media_type, filename)
        return artifact, True

    def get(self, project_id: UUID, sha256: str) -> Artifact | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT size, media_type, filename FROM artifacts"
                " WHERE project_id = %s AND sha256 = %s",
                (project_id, bytes.fromhex(sha256)),
            ).fetchone()
        if row is None:
            return None
        return Artifact(project_id, sha256, int(row[0]), str(row[1]), row[2])

    def describe(self, project_id: UUID, sha256: str) -> ArtifactRef | None:
        """The artifact as evidence names it (`application.ports.ArtifactCatalog`)."""
        found = self.get(project_id, sha256)
        if found is None:
            return None
        return ArtifactRef(found.sha256, found.size, found.media_type, found.filename)

    def read(self, artifact: Artifact, start: int, end: int) -> Iterator[bytes]:
        """Bytes `start` to `end` (inclusive) of the artifact, one short query per 1 MiB slice:
        no connection is held while the caller sends a slice to its client."""
        position = start
        while position <= end:
            length = min(PIECE, end - position + 1)
            with self._pool.connection() as conn:
                row = conn.execute(
                    "SELECT substring(content FROM %s FOR %s) FROM artifacts"
                    " WHERE project_id = %s AND sha256 = %s",
                    (position + 1, length, artifact.project_id, bytes.fromhex(artifact.sha256)),
                ).fetchone()
            assert row is not None, "artifacts are never deleted"
            piece = bytes(row[0])
            if not piece:
                return
            position += len(piece)
            yield piece
