"""The field types every schema is built from: R14's bounded texts, and timestamps written as
ISO 8601 UTC with microseconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainSerializer, StringConstraints, WithJsonSchema

from domain.validation import EVIDENCE_MAX, NAME_MAX, TEXT_MAX


def iso_utc(value: datetime) -> str:
    """Timestamps leave as ISO 8601 UTC with microseconds: 2026-11-26T09:30:00.123456Z."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    if value.year < 1000:  # strftime's %Y does not pad years below 1000 to four digits
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The same text as the strftime above, for a third less: a large project's answer holds
    # thousands of timestamps. isoformat ends in "+00:00" here (tzinfo is UTC).
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


# Documented as a date-time: the serializer alone would make it a plain string in the schema.
UtcDatetime = Annotated[
    datetime,
    PlainSerializer(iso_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

# An `as_of` instant: aware, and a day inside the calendar's range, so that the project's
# local day of it (in any time zone) exists.
AS_OF_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
AS_OF_LATEST = datetime(9999, 12, 30, tzinfo=UTC)
Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_MAX, pattern=r"\S")]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX, pattern=r"\S")]
EvidenceText = Annotated[
    str, StringConstraints(min_length=1, max_length=EVIDENCE_MAX, pattern=r"\S")
]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
