"""The web view for stakeholders and auditors: one static page at `/` that calls the JSON API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.access import PUBLIC

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"

# The page holds a bearer token in session storage: only its own scripts and styles may run,
# it may talk only to this API, and it may not be framed (no clickjacking of a signed-in tab).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:;"
        " connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

# Not part of the API's contract, so not in the OpenAPI document; the page itself is public
# (it holds no data until the visitor pastes a token).
router = APIRouter(include_in_schema=False)


@router.get("/", dependencies=[Depends(PUBLIC)])
def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=SECURITY_HEADERS)


def install(app: FastAPI) -> None:
    """Serve the page at `/` and its script and style sheet under `/web/`."""
    app.include_router(router)
    app.mount("/web", StaticFiles(directory=STATIC), name="web")
