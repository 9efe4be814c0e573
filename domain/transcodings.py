"""How the domain's own value types are written into stored events and snapshots."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.entities import (
    ArtifactRef,
    Criterion,
    Deliverable,
    Evidence,
    GateCondition,
    GateDecision,
    Milestone,
    Phase,
)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class DataclassAsDict(Transcoding):
    """Writes a dataclass as the dict of its fields; nested values are transcoded in turn."""

    def __init__(self, cls: type[Any]) -> None:
        self.type = cls
        self.name = cls.__name__

    def encode(self, obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    entities = (GateCondition, GateDecision, Phase, ArtifactRef, Evidence, Criterion)
    for cls in (*entities, Deliverable, Milestone):
        transcoder.register(DataclassAsDict(cls))
