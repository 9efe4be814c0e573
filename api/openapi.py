"""The OpenAPI document says what the service answers: every error is problem JSON.

FastAPI documents its own 422 (request validation) as `application/json` with its
`HTTPValidationError` schema, and a route lists only the errors it names. Every error this
service sends is `application/problem+json` (`api.problems`), and every read that takes
`?min_position` may answer 503 while the views catch up (SPEC §3), and 429 when the caller
already has its share of such waits open (`MILESTONES_WAITS_PER_PRINCIPAL`). Rather than repeat
that on each route, the document is corrected here once, when it is first built.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.openapi_clients import describe_for_clients
from api.problems import PROBLEM_JSON
from api.schemas import Problem

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_LAGGING = (
    "the views have not reached `min_position` within the wait (`view-lagging`); "
    "retry after Retry-After"
)
_TOO_MANY_WAITS = (
    "the caller already has `MILESTONES_WAITS_PER_PRINCIPAL` (8) reads waiting for"
    " `min_position` in this process (`too-many-waits`); retry after Retry-After"
)
# FastAPI's own validation-error schemas, unused once its 422s are described as problems.
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")


def install(app: FastAPI) -> None:
    """Make `app.openapi()` describe every 4xx/5xx answer as problem JSON."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = describe_for_clients(describe_problems(document))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe_problems(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with every error answer as problem JSON, and the 503 and 429 of
    `min_position` reads."""
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if method == "get" and any(
                parameter.get("name") == "min_position"
                for parameter in operation.get("parameters", [])
            ):
                responses.setdefault("503", {"description": _LAGGING})
                responses.setdefault("429", {"description": _TOO_MANY_WAITS})
            for status, answer in responses.items():
                if status.startswith(("4", "5")):
                    answer["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
                for media, body in answer.get("content", {}).items():
                    if not body.get("schema") and "json" not in media and "event" not in media:
                        # A picture, a calendar, metrics: bytes, as a generated client reads
                        # them (it skips an answer whose schema it cannot tell).
                        body["schema"] = {"type": "string", "format": "binary"}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    # The models it refers to (ProblemItem) are components of their own: a `$defs` nested in a
    # component is a JSON Schema detail generated clients do not follow.
    for name, schema in problem.pop("$defs", {}).items():
        schemas.setdefault(name, schema)
    schemas.setdefault("Problem", problem)
    text = repr(document["paths"])
    for name in _FASTAPI_ERRORS:
        if f"#/components/schemas/{name}'" not in text:
            schemas.pop(name, None)
    return document
