"""How a command's plain result (`application.results.CommandResult`) is answered over HTTP:
201 with `Location` for what it created, else 200; the body names the project, its new version
(also the `ETag` that `If-Match` expects), the position of the last event written, and the ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.responses import JSONResponse

from application.results import CommandResult


def answer(result: CommandResult, warnings: Sequence[dict[str, str]] = ()) -> JSONResponse:
    """The answer; `warnings` (advice about an accepted command, e.g. a due date in the past)
    are named only when there are some."""
    body: dict[str, Any] = {
        "project_id": str(result.project_id),
        "version": result.version,
        "position": result.position,
        "changed": result.changed,
        **{name: str(value) for name, value in result.ids.items()},
    }
    if warnings:
        body["warnings"] = list(warnings)
    headers = {"ETag": f'"{result.version}"'}
    if result.created is None:
        return JSONResponse(body, status_code=200, headers=headers)
    location = f"/v1/projects/{result.project_id}"
    if result.created != "project_id":
        location += f"#{result.created}={result.ids[result.created]}"
    headers["Location"] = location
    return JSONResponse(body, status_code=201, headers=headers)
