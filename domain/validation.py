"""R14 bounds on names, texts and evidence, checked by the domain whatever the caller."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InvalidValueError

NAME_MAX = 200
TEXT_MAX = 10_000
EVIDENCE_MAX = 2_000
RISK_WINDOW_MAX = 365

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _storable(field: str, value: str) -> str:
    """PostgreSQL text cannot hold U+0000: an event carrying one is stored (its body is JSON in
    bytea) but no view can ever apply it, and the runner would retry it forever."""
    if "\x00" in value:
        raise InvalidValueError(field, "must not contain the NUL character (U+0000)")
    return value


def name(field: str, value: str) -> str:
    """A name or title: 1–200 characters, not only white space."""
    _storable(field, value)
    if not value.strip():
        raise InvalidValueError(field, "must not be empty")
    if len(value) > NAME_MAX:
        raise InvalidValueError(field, f"must be at most {NAME_MAX} characters")
    return value


def reason(field: str, value: str) -> str:
    """A required free text (a reason): 1–10,000 characters."""
    if not value.strip():
        raise InvalidValueError(field, "is required and must not be empty")
    return text(field, value)


def text(field: str, value: str) -> str:
    _storable(field, value)
    if len(value) > TEXT_MAX:
        raise InvalidValueError(field, f"must be at most {TEXT_MAX} characters")
    return value


def optional_text(field: str, value: str | None) -> str | None:
    return None if value is None else text(field, value)


def evidence(value: str) -> str:
    _storable("evidence", value)
    if not value.strip():
        raise InvalidValueError("evidence", "must not be empty")
    if len(value) > EVIDENCE_MAX:
        raise InvalidValueError("evidence", f"must be at most {EVIDENCE_MAX} characters")
    return value


def sha256(value: str | None) -> str | None:
    if value is not None and not _SHA256.match(value):
        raise InvalidValueError("sha256", "must be 64 lowercase hexadecimal characters")
    return value


def timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValueError("timezone", f"unknown time zone {value!r}") from None
    return value


def risk_window_days(value: int) -> int:
    if not 0 <= value <= RISK_WINDOW_MAX:
        raise InvalidValueError("risk_window_days", f"must be between 0 and {RISK_WINDOW_MAX}")
    return value
