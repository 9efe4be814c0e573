"""A project's events as its history shows them (version, type, actor, time, the event's own
fields as JSON values), read from each stored event's JSON without making the event.

The history export's rows need no event object: their `data` is the event's fields as JSON
values (`domain.history.json_data`), which the stored JSON already holds but for its
transcoded leaves (a UUID as hex, an instant or a day as ISO text). Read directly, a row costs
a third of decoding the event and turning its fields back into JSON (issue 20,
docs/performance.md). An event whose stored JSON is not the current class's (an older
`class_version`, to be upcast) or holds a leaf of another kind is decoded as usual, and so is
one the caller needs whole (`decoded`: the events that give names).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from domain.events import ProjectEvent
from domain.history import json_data

# What the stored JSON holds besides the event's own fields (`domain.history.ENVELOPE`, and
# the class version the mapper pops).
_NOT_DATA = frozenset({"timestamp", "actor", "originator_topic", "class_version"})


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One event of a project's history; `event` is the event itself only when it was decoded
    (it was asked for, or its JSON could not be read directly)."""

    version: int
    position: int | None  # None: a history shown without positions
    type_name: str
    actor: str
    timestamp: datetime
    data: dict[str, Any]
    correlation_id: str | None
    event: ProjectEvent | None


class _UnreadLeafError(Exception):
    """A transcoded leaf of a kind read here does not know: the event is decoded instead."""


def _leaf(value: dict[str, Any]) -> Any:
    """A transcoded leaf as `json_data` shows it: a UUID as its hyphenated text (`str(UUID)`
    of `UUID.hex`'s lowercase digits), an instant or a day as the ISO text stored."""
    if len(value) != 2 or "_type_" not in value or "_data_" not in value:
        return value
    kind, text = value["_type_"], value["_data_"]
    if kind == "uuid_hex" and isinstance(text, str) and len(text) == 32:
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    if kind in ("datetime_iso", "date_iso") and isinstance(text, str):
        return text
    raise _UnreadLeafError(kind)


_decode = json.JSONDecoder(object_hook=_leaf).decode


def history_row(
    stored: StoredEvent,
    position: int,
    correlation_id: str | None,
    decode: Callable[[StoredEvent], ProjectEvent],
    decoded: tuple[type[ProjectEvent], ...],
) -> HistoryRow:
    """The row of `stored`, from its JSON when it can be read directly, else from `decode`."""
    cls = resolve_topic(stored.topic)
    if not issubclass(cls, decoded):
        try:
            state = _decode(stored.state.decode("utf8"))
        except _UnreadLeafError:
            state = None
        if (
            state is not None
            and state.get("class_version", 1) == getattr(cls, "class_version", 1)
            and "actor" in state
            and "timestamp" in state
        ):
            return HistoryRow(
                stored.originator_version,
                position,
                cls.__name__,
                state["actor"],
                datetime.fromisoformat(state["timestamp"]),
                {k: v for k, v in state.items() if k not in _NOT_DATA},
                correlation_id,
                None,
            )
    event = decode(stored)
    return HistoryRow(
        event.originator_version,
        position,
        event.type_name,
        event.actor,
        event.timestamp,
        json_data(event),
        correlation_id,
        event,
    )
