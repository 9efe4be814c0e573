"""An upload's body, spooled to a temporary file while it is hashed (the artifacts' POST).

The body is read as it arrives (never whole into memory: up to 1 MiB in memory, then a file)
and refused with 413 as soon as it passes `MILESTONES_ARTIFACT_MAX_BYTES` (or at once when its
Content-Length says so). No database connection is held while a client sends it, however
slowly: the store writes the spooled file afterwards, in one short transaction.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Annotated
from urllib.parse import unquote

from fastapi import Depends, Request

from api.deps import ContainerDep
from api.problems import ProblemError

IN_MEMORY = 1024 * 1024  # spooled in memory up to this, then to a file
DEFAULT_MEDIA_TYPE = "application/octet-stream"
_TOKEN = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_MEDIA_TYPE = re.compile(f"^{_TOKEN}/{_TOKEN}$")
_FILENAME_STAR = re.compile(r"filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)")
_FILENAME = re.compile(r'filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))')
FILENAME_MAX = 255


@dataclass
class Upload:
    """A spooled body: its bytes in `file` (at position 0), their digest and size."""

    file: IO[bytes]
    sha256: bytes
    size: int
    media_type: str
    filename: str | None


def media_type_of(header: str | None) -> str:
    """The body's media type without parameters, lower-cased; octet-stream when absent."""
    if header is None or not header.strip():
        return DEFAULT_MEDIA_TYPE
    value = header.split(";", 1)[0].strip().lower()
    if not _MEDIA_TYPE.match(value):
        raise ProblemError(
            422, "Unprocessable Content", "Content-Type must be a media type such as text/plain"
        )
    return value


def filename_of(header: str | None) -> str | None:
    """The file name a `Content-Disposition` header gives (`filename*` preferred), as its last
    path segment, or None. A name that is not one printable line is refused (422)."""
    if header is None:
        return None
    star = _FILENAME_STAR.search(header)
    plain = _FILENAME.search(header)
    if star:
        name = unquote(star.group(1).strip(), errors="strict")
    elif plain:
        name = plain.group(1) if plain.group(1) is not None else plain.group(2)
        name = name.replace('\\"', '"')  # an escaped quote; other backslashes separate folders
    else:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or len(name) > FILENAME_MAX or not name.isprintable():
        raise ProblemError(
            422,
            "Unprocessable Content",
            f"the file name must be 1 to {FILENAME_MAX} printable characters",
        )
    return name


def _too_large(limit: int) -> ProblemError:
    return ProblemError(
        413,
        "Payload too large",
        f"artifacts are limited to {limit} bytes (MILESTONES_ARTIFACT_MAX_BYTES)",
        slug="payload-too-large",
        headers={"Connection": "close"},
    )


async def spooled_upload(request: Request, container: ContainerDep) -> AsyncIterator[Upload]:
    """The request's body, spooled and hashed; the file is removed when the request ends."""
    limit = container.settings.artifact_max_bytes
    media_type = media_type_of(request.headers.get("content-type"))
    filename = filename_of(request.headers.get("content-disposition"))
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _too_large(limit)
    digest = hashlib.sha256()
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=IN_MEMORY, prefix="milestones-upload-") as file:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            digest.update(chunk)
            file.write(chunk)
        file.seek(0)
        yield Upload(file, digest.digest(), size, media_type, filename)


UploadDep = Annotated[Upload, Depends(spooled_upload)]
