"""The OpenAPI document as a generated client reads it (issue 16, item 6): how to authenticate,
the headers a command takes and the answers send, and the media types beside JSON.

FastAPI documents what a route's signature says. What the service does around the routes (the
bearer token read by a dependency, `Idempotency-Key` read by the commands' route class, `ETag`,
`Location` and `Retry-After` set on answers, the exports chosen by `Accept`, the body limit of a
middleware) is added here once, when the document is first built, so that a client generated
from it can send and decode each of them.
"""

from __future__ import annotations

from typing import Any

from api.problems import PROBLEM_JSON

SECURITY_SCHEME = "bearerAuth"
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_STRING = {"type": "string"}
_ETAG = {"description": "the project's version, as `If-Match` expects it", "schema": _STRING}
_WEAK_ETAG = {"description": "a weak tag of the view's version and day", "schema": _STRING}
_LOCATION = {"description": "where the created project is read", "schema": _STRING}
_RETRY_AFTER = {"description": "seconds to wait before trying again", "schema": _STRING}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "run this command once per principal and key (kept 24 h): a retry gets the first "
        "answer; the key is also the `correlation_id` of the events it causes"
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "the ETag already held: 304 while the project is still at that version",
    "schema": _STRING,
}
_EXPORTS = {"text/csv": {"schema": _STRING}, "application/x-ndjson": {"schema": _STRING}}
_TOO_LARGE = "the body is over 1 MiB"
_NOT_ACCEPTABLE = "`Accept` names no format this read answers (JSON, CSV, NDJSON)"
# Reads whose answer carries an ETag: the project's own (strong, and 304 to If-None-Match)...
_PROJECT = "/v1/projects/{project_id}"
# ... and the views' and the picture's (weak).
_WEAKLY_TAGGED = (
    "/v1/projects/{project_id}/schedule",
    "/v1/projects/{project_id}/alignment",
    "/v1/projects/{project_id}/timeline.svg",
)
# Reads that answer 304 to an If-None-Match naming their weak tag.
_REVALIDATED = _WEAKLY_TAGGED[:2]
_EXPORTED = ("/v1/audit", "/v1/projects/{project_id}/history")


def describe_for_clients(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with its security scheme, the command and answer headers, the exports'
    media types and the body limit."""
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "a token from `milestones token create` or `POST /v1/tokens`",
    }
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            _secure(operation)
            responses = operation.setdefault("responses", {})
            command = "commands" in operation.get("tags", ())
            if command:
                operation.setdefault("parameters", []).append(dict(_IDEMPOTENCY_KEY))
            if "requestBody" in operation:
                responses.setdefault("413", _problem(_TOO_LARGE))
            if path == "/v1/projects" and method == "post":
                responses.pop("412", None)  # a new project has no version to clash with
            if method == "get":
                _read(path, operation, responses)
            for status, answer in responses.items():
                if status == "201":
                    _header(answer, "Location", _LOCATION)
                if command and status in ("200", "201"):
                    _header(answer, "ETag", _ETAG)
                if status in ("429", "503"):
                    _header(answer, "Retry-After", _RETRY_AFTER)
    return document


def _secure(operation: dict[str, Any]) -> None:
    """The bearer token as the security scheme, not an optional header parameter."""
    parameters = operation.get("parameters", [])
    kept = [
        p
        for p in parameters
        if not (p.get("in") == "header" and str(p.get("name", "")).lower() == "authorization")
    ]
    if len(kept) != len(parameters):
        operation["parameters"] = kept
        operation["security"] = [{SECURITY_SCHEME: []}]


def _read(path: str, operation: dict[str, Any], responses: dict[str, Any]) -> None:
    ok = responses.setdefault("200", {"description": "Successful Response"})
    if path == _PROJECT:
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name", "").lower() == "if-none-match" for p in parameters):
            parameters.append(dict(_IF_NONE_MATCH))
        else:
            for parameter in parameters:
                if parameter.get("name", "").lower() == "if-none-match":
                    parameter.update(_IF_NONE_MATCH)
        responses.setdefault(
            "304",
            {"description": "not modified: the project is still at the If-None-Match version"},
        )
        _header(responses["304"], "ETag", _ETAG)
        _header(ok, "ETag", _ETAG)
    elif path in _WEAKLY_TAGGED:
        _header(ok, "ETag", _WEAK_ETAG)
        if path in _REVALIDATED:
            unchanged = "not modified: the view's version and day are still the If-None-Match tag"
            responses.setdefault("304", {"description": unchanged})
            _header(responses["304"], "ETag", _WEAK_ETAG)
    if path in _EXPORTED:
        ok.setdefault("content", {}).update(_EXPORTS)
        responses.setdefault("406", _problem(_NOT_ACCEPTABLE))
    if path == "/metrics":
        ok["content"] = {"text/plain": {"schema": _STRING}}
    if path == "/ready":
        # A probe's answer, not a problem: which checks failed.
        responses["503"] = {
            "description": "not ready: the database or a view; the body names which",
            "content": {"application/json": {"schema": {"type": "object"}}},
            "headers": {"Retry-After": dict(_RETRY_AFTER)},
        }


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}}}


def _header(answer: dict[str, Any], name: str, header: dict[str, Any]) -> None:
    answer.setdefault("headers", {}).setdefault(name, dict(header))
