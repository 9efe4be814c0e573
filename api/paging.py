"""The project list's pages: a cursor naming the last project of a page, and the `Link` header
(RFC 8288) that hands it on, since the list's answer is a bare array (docs/decisions.md)."""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import urlencode
from uuid import UUID

from api.problems import ProblemError

_KIND = "projects"


def encode(name: str, project_id: UUID) -> str:
    """The cursor after the project `name`, `project_id`: opaque to clients, url-safe."""
    text = json.dumps([_KIND, name, str(project_id)], ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str | None) -> tuple[str, UUID] | None:
    """The (name, id) a cursor of `encode` names; 422 for anything this API did not hand out."""
    if cursor is None:
        return None
    try:
        kind, name, project_id = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        )
        # A name with NUL is none this API listed (PostgreSQL text cannot hold one); an id
        # that is not a string would reach UUID() as something it does not parse.
        if kind != _KIND or not isinstance(name, str) or "\x00" in name:
            raise ValueError(kind)
        if not isinstance(project_id, str):
            raise ValueError(project_id)
        return name, UUID(project_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise ProblemError(
            422,
            "Invalid request",
            "cursor is not one this API handed out; follow the Link header's next page",
            slug="invalid-request",
            errors=[{"field": "cursor", "message": "unknown cursor"}],
        ) from None


def next_link(path: str, cursor: str, limit: int, min_position: int | None) -> str:
    """The `Link` header's value for the page after this one: at the same size, and read at
    least at the position the first page waited for (a client's own writes stay in)."""
    query: dict[str, object] = {"limit": limit, "cursor": cursor}
    if min_position is not None:
        query["min_position"] = min_position
    return f'<{path}?{urlencode(query)}>; rel="next"'
