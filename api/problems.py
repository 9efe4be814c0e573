"""Every error leaves as RFC 9457 problem JSON; domain errors map to a status here, in one place."""

from __future__ import annotations

import inspect
import logging
from typing import Any

from eventsourcing.persistence import OperationalError as StoreOperationalError
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import DataError as PgDataError
from psycopg import OperationalError as PgOperationalError
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException

from adapters.postgres.principals import (
    InvalidTokenScopeError,
    PrincipalError,
    TokenIssuerRefusedError,
)
from domain.errors import (
    DomainError,
    EntityNotFoundError,
    InvalidValueError,
    PermissionDeniedError,
    ProjectNotFoundError,
    RuleViolationError,
    VersionMismatchError,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://milestone-ledger.dev/problems/"

_STATUS: dict[type[DomainError], tuple[int, str]] = {
    ProjectNotFoundError: (404, "not-found"),
    EntityNotFoundError: (404, "not-found"),
    PermissionDeniedError: (403, "forbidden"),
    InvalidValueError: (422, "invalid-value"),
    RuleViolationError: (409, "rule-violation"),
    VersionMismatchError: (412, "version-mismatch"),
}


class ProblemError(Exception):
    """Raised by the API layer itself for a problem with no domain meaning (401, 503, ...)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        slug: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug
        self.headers = headers or {}
        self.extra = extra


def problem(
    status: int,
    title: str,
    detail: str,
    slug: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": slug if slug == "about:blank" else TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_problem(error: DomainError) -> JSONResponse:
    status, slug = next(
        (v for cls, v in _STATUS.items() if isinstance(error, cls)), (400, "bad-request")
    )
    extra: dict[str, Any] = {}
    if isinstance(error, RuleViolationError):
        extra["errors"] = [v.as_dict() for v in error.violations]
    elif isinstance(error, InvalidValueError):
        extra["errors"] = [{"field": error.field_name, "message": error.message}]
    elif isinstance(error, VersionMismatchError):
        extra["current_version"] = error.actual
    return problem(status, error.title, error.detail, slug, **extra)


async def render(request: Request, error: Exception) -> Response:
    """The response the app's handlers give `error`, for code that must see it before it
    leaves (an idempotent command keeps its refusals); unknown errors still become a 500."""
    handlers = request.app.exception_handlers
    for cls in type(error).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            response = handler(request, error)
            if inspect.isawaitable(response):
                response = await response
            assert isinstance(response, Response)
            return response
    raise error


def install(app: FastAPI) -> None:
    """Registers the handlers that turn every failure into problem JSON."""

    @app.exception_handler(DomainError)
    async def on_domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return domain_problem(exc)

    @app.exception_handler(PrincipalError)
    async def on_principal_error(_: Request, exc: PrincipalError) -> JSONResponse:
        if isinstance(exc, TokenIssuerRefusedError):
            return problem(403, "Forbidden", str(exc), "forbidden")
        field = "expires_at" if isinstance(exc, InvalidTokenScopeError) else "principal"
        errors = [{"field": field, "message": str(exc)}]
        return problem(422, "Invalid value", str(exc), "invalid-value", errors=errors)

    @app.exception_handler(ProblemError)
    async def on_problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem(
            exc.status, exc.title, exc.detail, exc.slug, headers=exc.headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def on_invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        sent_json = _is_json(request.headers.get("content-type"))
        errors = _unique([_field_error(e, sent_json) for e in exc.errors()])
        return problem(
            422,
            "Invalid request",
            _summary(errors),
            "invalid-request",
            errors=errors,
        )

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == BODY_NOT_PARSED:
            # FastAPI's answer to a body it cannot even decode (bytes that are not UTF-8); a
            # malformed body is 422 like any other (R14), and the only 4xx the OpenAPI lists.
            return problem(
                422,
                "Invalid request",
                "the request does not match the schema",
                "invalid-request",
                errors=[{"field": "", "message": "the body is not JSON", "type": "json_invalid"}],
            )
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"there is no {request.method} {request.url.path}; the routes are at /docs"
        elif exc.status_code == 405 and detail == "Method Not Allowed":
            detail = f"{request.url.path} does not take {request.method}; see /docs"
        return problem(
            exc.status_code,
            _title(exc.status_code),
            detail,
            _HTTP_SLUGS.get(exc.status_code, "http-error"),
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(PgOperationalError)
    @app.exception_handler(StoreOperationalError)
    async def on_database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return problem(
            503,
            "Service unavailable",
            "the database cannot be reached; try again shortly",
            "unavailable",
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(PgDataError)
    async def on_unstorable_value(request: Request, exc: PgDataError) -> JSONResponse:
        if NUL_REFUSED not in str(exc):
            return await on_unexpected(request, exc)
        # A query filter or a looked-up name with U+0000, which PostgreSQL text cannot hold:
        # psycopg refuses to send it, so nothing was read or written; the input is malformed.
        return problem(
            422,
            "Invalid request",
            "text must not contain the NUL character (U+0000)",
            "invalid-request",
            errors=[{"field": "", "message": "contains U+0000", "type": "string_nul"}],
        )

    @app.exception_handler(Exception)
    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return problem(500, "Internal error", "an unexpected error occurred", "internal")


# The problem types of the errors Starlette raises itself (no route, wrong method, ...).
_HTTP_SLUGS = {
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "too-large",
    415: "unsupported-media-type",
}

_UUID_HINT = "ids are the UUIDs this API returned, e.g. 0b5c6d2e-7f1a-4c3b-9d8e-1f2a3b4c5d6e"

# How to write what a field's type expects, added to pydantic's message of a value it could not
# parse ("invalid character in year" says what, not how).
_FORMAT_HINTS = {
    "date_from_datetime_parsing": "write a date as YYYY-MM-DD, e.g. 2027-02-01",
    "date_parsing": "write a date as YYYY-MM-DD, e.g. 2027-02-01",
    "date_type": "write a date as YYYY-MM-DD, e.g. 2027-02-01",
    "datetime_parsing": "write an instant as RFC 3339, e.g. 2027-02-01T09:30:00Z",
    "datetime_from_date_parsing": "write an instant as RFC 3339, e.g. 2027-02-01T09:30:00Z",
    "datetime_type": "write an instant as RFC 3339, e.g. 2027-02-01T09:30:00Z",
    "uuid_parsing": _UUID_HINT,
    "uuid_type": _UUID_HINT,
}


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _field_error(error: Any, sent_json: bool) -> dict[str, str]:
    """One of pydantic's errors as the API names it: the field a client wrote (`title`,
    `criteria.0.text`, `path.pid`), what is wrong, and how to write it instead."""
    kind = str(error["type"])
    location = [str(part) for part in error["loc"]]
    in_body = bool(location) and location[0] == "body"
    if in_body:
        location = location[1:]
    message = str(error["msg"])
    if kind == "json_invalid":
        # The location of a JSON syntax error is a character offset, not a field.
        reason = (error.get("ctx") or {}).get("error", "")
        at = f" at character {location[0]}" if location else ""
        return {
            "field": "",
            "message": f"the body is not valid JSON{at}: {reason}".rstrip(": "),
            "type": kind,
        }
    if in_body and not location and not sent_json:
        return {
            "field": "",
            "message": "send the body as a JSON object with the header "
            "Content-Type: application/json",
            "type": kind,
        }
    hint = _FORMAT_HINTS.get(kind)
    if hint:
        message = f"{message}; {hint}"
    return {"field": ".".join(location), "message": message, "type": kind}


def _unique(errors: list[dict[str, str]]) -> list[dict[str, str]]:
    """Each error once (a path parameter checked by two dependencies is reported once)."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for error in errors:
        key = (error["field"], error["message"])
        if key not in seen:
            seen.add(key)
            kept.append(error)
    return kept


def _summary(errors: list[dict[str, str]]) -> str:
    if len(errors) == 1:
        error = errors[0]
        return f"{error['field']}: {error['message']}" if error["field"] else error["message"]
    return f"the request does not match the schema ({len(errors)} errors, listed in `errors`)"


# What psycopg says when a parameter holds U+0000 (it refuses to send it).
NUL_REFUSED = "cannot contain NUL"
# The detail of the HTTPException FastAPI raises for a request body it cannot parse at all.
BODY_NOT_PARSED = "There was an error parsing the body"


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
