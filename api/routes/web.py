"""The web view for stakeholders and auditors: one static page at `/` that calls the JSON API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.access import PUBLIC

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"

# Its security headers (a Content-Security-Policy for the page among them) are every
# response's, added by `api.headers`.

# Not part of the API's contract, so not in the OpenAPI document; the page itself is public
# (it holds no data until the visitor pastes a token).
router = APIRouter(include_in_schema=False)


@router.get("/", dependencies=[Depends(PUBLIC)])
def index() -> FileResponse:
    return FileResponse(
        STATIC / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"}
    )


def install(app: FastAPI) -> None:
    """Serve the page at `/` and its script and style sheet under `/web/`."""
    app.include_router(router)
    app.mount("/web", StaticFiles(directory=STATIC), name="web")
