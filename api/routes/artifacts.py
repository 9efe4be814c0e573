"""Artifacts: `POST /v1/projects/{pid}/artifacts` (a file, kept by its SHA-256) and
`GET /v1/projects/{pid}/artifacts/{sha256}` (its bytes, with ETag and Range)."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Response
from fastapi.responses import JSONResponse, StreamingResponse

from adapters.postgres.artifacts import Artifact
from api.access import PROJECT_WRITERS, Looker
from api.deps import ContainerDep
from api.problems import ProblemError
from api.schemas.artifacts import ArtifactPublic
from api.uploads import UploadDep
from application.access import Admission
from domain.roles import ProjectRole

router = APIRouter(tags=["artifacts"])

# Who may upload: whoever may record evidence (a contributor of the project).
Uploader = Annotated[Admission, Depends(PROJECT_WRITERS[ProjectRole.CONTRIBUTOR])]
Digest = Annotated[
    str,
    Path(pattern="^[0-9a-f]{64}$", description="the artifact's SHA-256, 64 lower-case hex digits"),
]
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# The media type is the uploader's word: never let a browser run the bytes as a page of ours.
_SAFE = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
}

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the file's bytes; its type in Content-Type, its name in "
        'Content-Disposition (`attachment; filename="report.pdf"`)',
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/v1/projects/{project_id}/artifacts",
    status_code=201,
    response_model=ArtifactPublic,
    openapi_extra=_UPLOAD_BODY,
    responses={
        200: {"model": ArtifactPublic, "description": "the project holds these bytes already"},
        401: {"description": "missing or unknown token"},
        403: {"description": "only contributors, reviewers and managers upload"},
        404: {"description": "no such project, or not visible to the caller"},
        413: {"description": "larger than MILESTONES_ARTIFACT_MAX_BYTES"},
        422: {"description": "empty, or a bad Content-Type or file name"},
    },
)
def upload_artifact(admitted: Uploader, upload: UploadDep, container: ContainerDep) -> JSONResponse:
    """Keep a file as evidence, by its SHA-256: stored once per project and digest, never
    changed or deleted. Evidence names it with `{"artifact": "<sha256>"}`."""
    if upload.size == 0:
        raise ProblemError(422, "Unprocessable Content", "an artifact holds at least one byte")
    artifact, stored = container.artifacts.put(
        admitted.project_id,
        upload.file,
        sha256=upload.sha256,
        size=upload.size,
        media_type=upload.media_type,
        filename=upload.filename,
        uploaded_by=admitted.principal.name,
    )
    location = f"/v1/projects/{admitted.project_id}/artifacts/{artifact.sha256}"
    return JSONResponse(
        artifact.as_dict(),
        status_code=201 if stored else 200,
        headers={"Location": location, "ETag": f'"{artifact.sha256}"'},
    )


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range asked for, as (first, last) inclusive; None: the whole file. Several
    ranges are answered whole (RFC 9110 allows it); an unsatisfiable one is 416."""
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # another unit, or several ranges: ignored
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0:
            raise _unsatisfiable(size)
        return max(0, size - length), size - 1
    start = int(first)
    end = size - 1 if not last else min(int(last), size - 1)
    if start >= size or end < start:
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> ProblemError:
    return ProblemError(
        416,
        "Range Not Satisfiable",
        f"the artifact has {size} bytes",
        headers={"Content-Range": f"bytes */{size}"},
    )


@router.get(
    "/v1/projects/{project_id}/artifacts/{sha256}",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "the bytes"},
        206: {"content": {"application/octet-stream": {}}, "description": "the range asked"},
        304: {"description": "If-None-Match names this digest"},
        401: {"description": "missing or unknown token"},
        404: {"description": "no such project or artifact, or not visible to the caller"},
        416: {"description": "the range is outside the file"},
        422: {"description": "not a SHA-256 in lower-case hex"},
    },
)
def get_artifact(
    access: Looker,
    sha256: Digest,
    container: ContainerDep,
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The file's bytes with the media type it was uploaded with, to the project's members
    (and auditors and admins). `ETag` is the digest; a single `Range: bytes=…` is honoured."""
    artifact = container.artifacts.get(access.project_id, sha256)
    if artifact is None:
        raise ProblemError(404, "Not Found", f"the project has no artifact {sha256}")
    etag = f'"{artifact.sha256}"'
    headers = {"ETag": etag, "Accept-Ranges": "bytes", **_SAFE}
    headers["Content-Disposition"] = _disposition(artifact)
    if if_none_match is not None and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    asked = _byte_range(range_header, artifact.size)
    start, end = asked or (0, artifact.size - 1)
    headers["Content-Length"] = str(end - start + 1)
    if asked is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{artifact.size}"
    return StreamingResponse(
        container.artifacts.read(artifact, start, end),
        status_code=206 if asked is not None else 200,
        media_type=artifact.media_type,
        headers=headers,
    )


def _disposition(artifact: Artifact) -> str:
    if artifact.filename is None:
        return "attachment"
    return f"attachment; filename*=UTF-8''{quote(artifact.filename, safe='')}"
