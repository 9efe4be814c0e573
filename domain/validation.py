"""R14's bounds and R15's characters on names, texts and evidence, checked by the domain
whatever the caller (the API, the command line, a test); and a project's time zone."""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from domain.errors import InvalidValueError

NAME_MAX = 200
TEXT_MAX = 10_000
EVIDENCE_MAX = 2_000
RISK_WINDOW_MAX = 365
LAG_MAX = 365
QUORUM_MAX = 20
# The longest IANA name is 32 characters (America/Argentina/ComodRivadavia).
TIMEZONE_MAX = 64

_SHA256 = re.compile(r"^[0-9a-f]{64}$")

# R15 (docs/rules.md). Never in any name or text: the C0 controls but tab, LF and CR; DEL and
# the C1 controls (NEL included); surrogates (no UTF-8 for them); the 66 noncharacters
# (U+FFFE and U+FFFF are not even XML).
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
_NEVER = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff" + _NONCHARACTERS
# Never in a name either: tab and line breaks (a name is one line: a CSV cell, an iCalendar
# property, an SVG label, a log's `actor`), and the bidirectional embeddings, overrides and
# isolates, which make a name read as another one (CVE-2021-42574).
_NOT_IN_NAMES = "\t\n\r\u2028\u2029\u202a-\u202e\u2066-\u2069"
_FORBIDDEN_IN_TEXT = re.compile(f"[{_NEVER}]")
_FORBIDDEN_IN_NAME = re.compile(f"[{_NEVER}{_NOT_IN_NAMES}]")


def _described(char: str) -> str:
    code = ord(char)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        kind = "a control character"
    elif 0xD800 <= code <= 0xDFFF:
        kind = "a surrogate"
    elif code in (0x2028, 0x2029):
        kind = "a line break"
    elif 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        kind = "a bidirectional control"
    else:
        kind = "a noncharacter"
    return f"U+{code:04X} ({kind})"


def _characters(field: str, value: str, forbidden: re.Pattern[str], where: str) -> str:
    """R15: no control character, ever; in a name not even a tab or a line break."""
    found = forbidden.search(value)
    if found is not None:
        raise InvalidValueError(
            field,
            f"must not contain {_described(found.group())} at character {found.start() + 1}"
            f" ({where}, R15)",
        )
    return value


def name_characters(field: str, value: str) -> str:
    """R15 for a name: one line of printable text (principal names follow it too)."""
    return _characters(field, value, _FORBIDDEN_IN_NAME, "a name is one line of printable text")


def text_characters(field: str, value: str) -> str:
    """R15 for a text: printable, with tabs and line breaks (LF, CR) allowed."""
    return _characters(field, value, _FORBIDDEN_IN_TEXT, "a text may hold only tab, LF and CR")


def name(field: str, value: str) -> str:
    """A name or title: 1–200 characters, not only white space (R14), one printable line (R15)."""
    if len(value) > NAME_MAX:
        raise InvalidValueError(field, f"must be at most {NAME_MAX} characters")
    name_characters(field, value)
    if not value.strip():
        raise InvalidValueError(field, "must not be empty")
    return value


def reason(field: str, value: str) -> str:
    """A required free text (a reason): 1–10,000 characters."""
    if not value.strip():
        raise InvalidValueError(field, "is required and must not be empty")
    return text(field, value)


def text(field: str, value: str) -> str:
    """A free text: at most 10,000 characters (R14), printable but for tabs and line breaks
    (R15)."""
    if len(value) > TEXT_MAX:
        raise InvalidValueError(field, f"must be at most {TEXT_MAX} characters")
    return text_characters(field, value)


def optional_text(field: str, value: str | None) -> str | None:
    return None if value is None else text(field, value)


def evidence(value: str) -> str:
    """A URI or a short text: 1–2,000 characters (R14), a text under R15."""
    if len(value) > EVIDENCE_MAX:
        raise InvalidValueError("evidence", f"must be at most {EVIDENCE_MAX} characters")
    text_characters("evidence", value)
    if not value.strip():
        raise InvalidValueError("evidence", "must not be empty")
    return value


def sha256(value: str | None) -> str | None:
    if value is not None and not _SHA256.match(value):
        raise InvalidValueError("sha256", "must be 64 lowercase hexadecimal characters")
    return value


@cache
def known_timezones() -> frozenset[str]:
    """The IANA time zone names this Python knows (the `tzdata` package at least). `localtime`
    is left out: it names the server's own zone, which a project's day must not depend on."""
    return frozenset(available_timezones() - {"localtime"})


def timezone(value: str) -> str:
    """An IANA time zone name (`Europe/Paris`). Checked against the list before it is opened:
    `ZoneInfo` takes a name as a file path, and a 5,000-character name or `__pycache__` made
    it raise errors no caller expects (issue 13)."""
    if len(value) > TIMEZONE_MAX or value not in known_timezones():
        shown = value if len(value) <= TIMEZONE_MAX else value[:TIMEZONE_MAX] + "…"
        raise InvalidValueError("timezone", f"unknown IANA time zone {shown!r}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidValueError("timezone", f"unknown IANA time zone {value!r}") from None
    return value


def risk_window_days(value: int) -> int:
    if not 0 <= value <= RISK_WINDOW_MAX:
        raise InvalidValueError("risk_window_days", f"must be between 0 and {RISK_WINDOW_MAX}")
    return value


def lag_days(value: int) -> int:
    """R16: a dependency's lag, in whole days (a lead, a negative lag, is not offered)."""
    if not 0 <= value <= LAG_MAX:
        raise InvalidValueError("lag_days", f"must be between 0 and {LAG_MAX}")
    return value


def required_approvals(value: int) -> int:
    """R21: how many approvals a deliverable's review round needs."""
    if not 1 <= value <= QUORUM_MAX:
        raise InvalidValueError("required_approvals", f"must be between 1 and {QUORUM_MAX}")
    return value
