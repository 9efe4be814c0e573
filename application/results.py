"""What a command produces, as plain data: kept with its events for an idempotent replay, and
rendered into an HTTP answer by the API (never inside the event store's transaction)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

# The ids a command's answer names, by name ("milestone_id": …).
Ids = dict[str, UUID]

# How long an answer is kept under its Idempotency-Key (Stripe keeps theirs 24 hours): a retry
# within it is answered from the kept answer; after it the key is free again and the same
# request runs as a new command (docs/decisions.md, "Kept answers expire").
ANSWERS_KEPT_FOR = timedelta(hours=24)


@dataclass(frozen=True)
class CommandResult:
    """The ids a command touched, the project's version after it and the global position of the
    last event it wrote (None when it changed nothing: no event, SPEC §3)."""

    project_id: UUID
    version: int
    position: int | None
    ids: Ids = field(default_factory=dict)
    changed: bool = True
    # The name of the id (in `ids`, or "project_id") of what the command created, if anything.
    created: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "project_id": str(self.project_id),
            "version": self.version,
            "position": self.position,
            "ids": [[name, str(value)] for name, value in self.ids.items()],
            "changed": self.changed,
            "created": self.created,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CommandResult:
        return cls(
            project_id=UUID(data["project_id"]),
            version=int(data["version"]),
            position=None if data["position"] is None else int(data["position"]),
            ids={
                name: UUID(value)
                for name, value in (
                    data["ids"].items() if isinstance(data["ids"], dict) else data["ids"]
                )
            },
            changed=bool(data["changed"]),
            created=data["created"],
        )


@dataclass(frozen=True)
class AnswerKey:
    """A caller's `Idempotency-Key`, scoped to the principal, with the hash of its request: the
    command's result is kept under it in the events' own transaction."""

    principal: str
    key: str
    request_hash: bytes


@dataclass(frozen=True)
class KeptAnswer:
    """An answer kept under a key: a command's plain result (kept with its events), or an answer
    rendered by the API (a refusal, a no-op), kept after it was given."""

    key: AnswerKey
    result: CommandResult | None = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def position(self) -> int | None:
        return None if self.result is None else self.result.position
