"""What a well-formed answer of each output format is, checked on its bytes: the iCalendar feed,
the timeline SVG, a CSV export and an NDJSON export (tests/integration/test_hostile_output.py,
reliability check 9)."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from icalendar import Calendar

from api.exports import FORMULA_STARTS

# Every property the feed writes (api/calendar.py): anything else would be a forged line.
CALENDAR_PROPERTIES = frozenset(
    {
        "BEGIN", "END", "PRODID", "VERSION", "CALSCALE", "X-WR-CALNAME", "UID", "DTSTAMP",
        "DTSTART", "DTEND", "SEQUENCE", "CATEGORIES", "TRANSP", "STATUS", "SUMMARY",
        "DESCRIPTION",
    }
)  # fmt: skip


def calendar(body: bytes) -> Calendar:
    """The feed parsed by the icalendar library, after checking what a parser that splits lines
    on CR or LF would see: every line ends in CRLF, no CR or LF stands alone (RFC 5545 §3.1),
    and every unfolded line is one of the feed's own properties."""
    assert re.search(rb"\r(?!\n)", body) is None, "a bare CR"
    assert re.search(rb"(?<!\r)\n", body) is None, "a bare LF"
    unfolded = body.decode().replace("\r\n ", "").replace("\r\n\t", "")
    lines = unfolded.split("\r\n")[:-1]
    names = {re.split("[;:]", line)[0] for line in lines}
    assert names <= CALENDAR_PROPERTIES, names - CALENDAR_PROPERTIES
    parsed = Calendar.from_ical(body)
    assert isinstance(parsed, Calendar)
    return parsed


def calendar_name(feed: Calendar) -> str:
    """X-WR-CALNAME unescaped as the TEXT it was written as (RFC 5545 §3.3.11); the library
    parses an X- property as unknown and leaves it escaped."""
    raw = feed["X-WR-CALNAME"].to_ical()
    escaped = raw.decode() if isinstance(raw, bytes) else str(raw)
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], escaped)


def svg(text: str) -> ET.Element:
    """The picture parsed as XML (a strict parser: what the web page's DOMParser needs)."""
    return ET.fromstring(text)


def csv_rows(text: str) -> list[dict[str, str]]:
    """The rows of a CSV export, none of whose cells a spreadsheet would take as a formula."""
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_STARTS), f"{column}: {cell!r} starts a formula"
    return rows


def unneutralised(cell: str) -> str:
    """A CSV cell as a reader gets the value back: one `'` that neutralised a formula off."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def ndjson_records(text: str) -> list[dict[str, Any]]:
    """One JSON record a line, however a reader splits lines (on LF, or on every Unicode
    line break)."""
    lines = text.split("\n")[:-1]
    assert text.splitlines() == lines
    return [json.loads(line) for line in lines]
