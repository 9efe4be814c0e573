"""CSV and NDJSON exports chosen by `Accept`, streamed row by row rather than built in memory.

The rows come from a plain iterator that reads its source a page at a time, each page on a
connection it gives back before yielding (`projections.audit.iter_audit`,
`Ledger.project_events`). Each chunk is made in a worker thread under a limiter shared by every
export of the process (`MILESTONES_STREAM_CONNECTIONS`), so exports use at most that many
connections at once, and never one while they wait for their client; the answer is bounded in
time by `api.streams`.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import anyio

from api.problems import ProblemError
from api.schemas import iso_utc
from api.streams import BoundedStreamingResponse

# Rows an export reads at a time: each page is one short read of its own, and the most rows an
# export holds while its client reads (a row is at most ~12 KB by R14's bounds).
PAGE = 200


class Format(StrEnum):
    JSON = "application/json"
    CSV = "text/csv"
    NDJSON = "application/x-ndjson"


def negotiate(accept: str | None) -> Format:
    """The format `Accept` prefers, by its q-values (RFC 9110 §12.5.1; the first named wins a
    tie); JSON without an `Accept`. 406 when it names only formats this read does not answer."""
    if accept is None or not accept.strip():
        return Format.JSON
    for media in _by_preference(accept):
        if media == Format.CSV:
            return Format.CSV
        if media in (Format.NDJSON, "application/ndjson"):
            return Format.NDJSON
        if media in (Format.JSON, "*/*", "application/*"):
            return Format.JSON
    raise ProblemError(
        406,
        "Not acceptable",
        f"Accept names no format this read answers: {Format.JSON}, {Format.CSV} or {Format.NDJSON}",
        slug="not-acceptable",
    )


def _by_preference(accept: str) -> list[str]:
    """The media ranges of `accept` a client accepts (q > 0), most preferred first."""
    ranked: list[tuple[float, int, str]] = []
    for order, part in enumerate(accept.split(",")):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0  # an unreadable weight accepts nothing
        if media and quality > 0:
            ranked.append((-quality, order, media.lower()))
    return [media for _, _, media in sorted(ranked)]


# R27: a signing event's manifestation, appended to the audit and history exports after their
# earlier columns (which stay where they were): the printed name, the meaning and the digest
# of what was signed; who signed is `actor`, when is `occurred_at`. Empty for other events,
# and for what an event stored before signatures did not record.
SIGNATURE_COLUMNS = ("signer_name", "meaning", "signed_digest")


def with_signature(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Each row with its event's manifestation (`SIGNATURE_COLUMNS`) read from its `data`."""
    for row in rows:
        data = row.get("data")
        found = data if isinstance(data, dict) else {}
        for column in SIGNATURE_COLUMNS:
            row[column] = found.get(column)
        yield row


def stream(
    rows: Iterable[dict[str, Any]],
    export: Format,
    columns: Sequence[str],
    filename: str,
    *,
    limiter: anyio.CapacityLimiter,
    deadline: float,
    send_timeout: float,
) -> BoundedStreamingResponse:
    """The rows as CSV (these columns, `data` as JSON text) or NDJSON, one chunk at a time;
    each chunk is made in a thread under `limiter`, the answer cut off after `deadline` s or
    when its client accepts nothing for `send_timeout` s."""
    body = _csv(rows, columns) if export is Format.CSV else _ndjson(rows)
    media_type = "text/csv; charset=utf-8" if export is Format.CSV else str(export)
    extension = "csv" if export is Format.CSV else "ndjson"
    return BoundedStreamingResponse(
        _in_threads(body, limiter),
        deadline=deadline,
        send_timeout=send_timeout,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}.{extension}"'},
    )


async def _in_threads(chunks: Iterator[str], limiter: anyio.CapacityLimiter) -> AsyncIterator[str]:
    """Each next chunk made in a worker thread (it may read a page), none while the previous
    one is being sent; the source is closed however the answer ends."""
    try:
        while True:
            chunk = await anyio.to_thread.run_sync(_next_chunk, chunks, limiter=limiter)
            if chunk is None:
                return
            yield chunk
    finally:
        # Not running: a cancelled `run_sync` returns only once its thread is done.
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _next_chunk(chunks: Iterator[str]) -> str | None:
    return next(chunks, None)


# A chunk is sent once it holds this many characters (or CHUNK_ROWS rows): few, large writes,
# yet little made ahead of a client that is slow to read.
CHUNK_CHARS = 64 * 1024
CHUNK_ROWS = 200


def _csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for n, row in enumerate(rows, 1):
        writer.writerow([_cell(row.get(c)) for c in columns])
        if n % CHUNK_ROWS == 0 or buffer.tell() >= CHUNK_CHARS:
            yield _drain(buffer)
    yield _drain(buffer)


def _ndjson(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    lines: list[str] = []
    size = 0
    for row in rows:
        line = _json_line(row)
        lines.append(line)
        size += len(line)
        if len(lines) == CHUNK_ROWS or size >= CHUNK_CHARS:
            yield "".join(lines)
            lines.clear()
            size = 0
    yield "".join(lines)


# Line breaks JSON may leave raw, which readers that split lines on every Unicode line break
# (Python's str.splitlines, some log shippers) would split a record on: written escaped.
_RAW_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _json_line(row: dict[str, Any]) -> str:
    """One NDJSON record: JSON escapes every control character; no line break is left raw."""
    text = _encode_json(row)
    return text.translate(_RAW_LINE_BREAKS) + "\n"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


# A cell a spreadsheet would take as a formula (OWASP, "CSV Injection"): `=1+2`, `@SUM(…)`,
# `+cmd|…`, `-2+3`, and the same after a tab or CR that the reader may strip.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)


def _cell(value: Any) -> str:
    if type(value) is str:  # most cells: the neutralising test inlined (one character each)
        return "'" + value if value[:1] in _FORMULA_FIRST else value
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return str(value)  # a number is data, and a spreadsheet should read it as one
    if isinstance(value, dict | list):
        text = _encode_json(value)
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


# `json.dumps(value, default=_json_default, ensure_ascii=False)`, its encoder made once rather
# than for each of an export's cells and lines.
_encode_json = json.JSONEncoder(default=_json_default, ensure_ascii=False).encode


def batched(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """`rows`, each `PAGE` of them made before the first is given on: the stages before run a
    page at a time rather than a row at a time through every stage (for an export of a long
    history, measurably less CPU: docs/performance.md)."""
    found = iter(rows)
    while page := list(itertools.islice(found, PAGE)):
        yield from page
