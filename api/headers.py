"""Security headers on every response, in one place: the outermost layer of the application, so
an answer the framework gives itself (a 500, a 413, a static file, the OpenAPI docs) gets them too.

Each header is added only when the response has not set it; the Content-Security-Policy is
chosen by what the response is:
- the web page (`text/html`): only its own scripts and styles, talking only to this API;
- FastAPI's interactive docs (`/docs`, `/redoc`): the CDN scripts and inline setup they need;
- everything else (JSON, problem JSON, `timeline.svg`, CSV, NDJSON, iCalendar, the event
  stream, the page's assets): nothing may load or run at all, and opened as a document it is
  sandboxed. An SVG opened directly from the API can run no script, even one a name smuggled in.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The page holds a bearer token in session storage: only its own scripts and styles may run,
# it may talk only to this API, and it may not be framed (no clickjacking of a signed-in tab).
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:;"
    " connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI and ReDoc as FastAPI serves them: their bundles from jsDelivr, an inline script
# that starts them (and inline styles they set), ReDoc's fonts and its worker.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net;"
    " style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com;"
    " font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com"
    " https://cdn.redoc.ly; connect-src 'self'; worker-src blob:; base-uri 'none';"
    " form-action 'none'; frame-ancestors 'none'"
)
# Data, not a page: nothing loads, nothing runs, nothing frames it (OWASP REST Security).
DATA_POLICY = (
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox"
)
DOCS_PATHS = frozenset({"/docs", "/redoc"})

# Sent with every response (CSP's frame-ancestors for the browsers that know it,
# X-Frame-Options for those that do not).
ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
CSP = b"content-security-policy"


def policy_for(path: str, content_type: str) -> str:
    if path in DOCS_PATHS:
        return DOCS_POLICY
    if content_type.split(";")[0].strip().lower() == "text/html":
        return PAGE_POLICY
    return DATA_POLICY


class SecurityHeaders:
    """Pure ASGI (not `BaseHTTPMiddleware`): streamed answers pass through unbuffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                content_type = next(
                    (
                        value.decode("latin-1")
                        for name, value in headers
                        if name.lower() == b"content-type"
                    ),
                    "",
                )
                added = [(name, value) for name, value in ALWAYS if name not in present]
                if CSP not in present:
                    added.append((CSP, policy_for(path, content_type).encode()))
                message = {**message, "headers": [*headers, *added]}
            await send(message)

        await self.app(scope, receive, send_secured)


def install(app: FastAPI) -> None:
    """Make `SecurityHeaders` the outermost layer, outside even the framework's own error
    middleware (a middleware added with `add_middleware` sits inside it, so a 500 would leave
    without the headers)."""
    build = app.build_middleware_stack

    def secured() -> ASGIApp:
        return SecurityHeaders(build())

    app.build_middleware_stack = secured  # type: ignore[method-assign]
