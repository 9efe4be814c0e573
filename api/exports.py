"""CSV and NDJSON exports chosen by `Accept`, streamed row by row rather than built in memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from fastapi.responses import StreamingResponse

from api.schemas import iso_utc


class Format(StrEnum):
    JSON = "application/json"
    CSV = "text/csv"
    NDJSON = "application/x-ndjson"


def negotiate(accept: str | None) -> Format:
    """The first export format `Accept` names; JSON otherwise (including */*)."""
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media == Format.CSV:
            return Format.CSV
        if media in (Format.NDJSON, "application/ndjson"):
            return Format.NDJSON
        if media in (Format.JSON, "*/*", "application/*"):
            return Format.JSON
    return Format.JSON


def stream(
    rows: Iterable[dict[str, Any]], export: Format, columns: Sequence[str], filename: str
) -> StreamingResponse:
    """The rows as CSV (these columns, `data` as JSON text) or NDJSON, one row at a time."""
    body = _csv(rows, columns) if export is Format.CSV else _ndjson(rows)
    media_type = "text/csv; charset=utf-8" if export is Format.CSV else str(export)
    extension = "csv" if export is Format.CSV else "ndjson"
    return StreamingResponse(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}.{extension}"'},
    )


def _csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for n, row in enumerate(rows, 1):
        writer.writerow([_cell(row.get(c)) for c in columns])
        if n % 200 == 0:  # chunks of a few hundred rows: fewer, larger writes
            yield _drain(buffer)
    yield _drain(buffer)


def _ndjson(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    lines: list[str] = []
    for row in rows:
        lines.append(_json_line(row))
        if len(lines) == 200:
            yield "".join(lines)
            lines.clear()
    yield "".join(lines)


# Line breaks JSON may leave raw, which readers that split lines on every Unicode line break
# (Python's str.splitlines, some log shippers) would split a record on: written escaped.
_RAW_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _json_line(row: dict[str, Any]) -> str:
    """One NDJSON record: JSON escapes every control character; no line break is left raw."""
    text = json.dumps(row, default=_json_default, ensure_ascii=False)
    return text.translate(_RAW_LINE_BREAKS) + "\n"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


# A cell a spreadsheet would take as a formula (OWASP, "CSV Injection"): `=1+2`, `@SUM(…)`,
# `+cmd|…`, `-2+3`, and the same after a tab or CR that the reader may strip.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return str(value)  # a number is data, and a spreadsheet should read it as one
    if isinstance(value, dict | list):
        text = json.dumps(value, default=_json_default, ensure_ascii=False)
    else:
        text = _json_default(value) if isinstance(value, datetime | UUID) else str(value)
    return neutralised(text)


def neutralised(text: str) -> str:
    """A text cell that a spreadsheet shows as text: one that would start a formula gets a `'`
    in front (OWASP's advice), whatever column it is in and wherever its value came from (a
    name, a reason, a principal stored before R15)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"cannot export {type(value).__name__}")
