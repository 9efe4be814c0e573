"""Advice about a command that was accepted: a due date already past in the project's time zone
(issue 19). The command is kept as sent; the answer says what the caller may not have meant."""

from __future__ import annotations

from datetime import date, datetime

from domain.rules import today_in

DUE_IN_THE_PAST = "due-in-the-past"


def due_warnings(due: date, timezone: str, now: datetime) -> list[dict[str, str]]:
    """A `due-in-the-past` warning when `due` is before today in the project's zone, else none.
    Today itself is not past: a milestone due today is on time until the day ends (R12)."""
    today = today_in(timezone, now)
    if due >= today:
        return []
    detail = (
        f"due {due.isoformat()} is before today ({today.isoformat()} in {timezone}): the date"
        " was kept, and the milestone shows as overdue until it is achieved (R12)"
    )
    return [{"code": DUE_IN_THE_PAST, "detail": detail}]
