"""The one family of domain errors; the API maps each class to an HTTP status in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Violation:
    """One broken rule (R1–R19, docs/rules.md for R15 on), with a message a person can act on."""

    rule: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "message": self.message, **self.details}


class DomainError(Exception):
    """Base class of every error the domain raises on purpose."""

    title = "Domain error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ProjectNotFoundError(DomainError):
    """The project does not exist, or the caller may not know that it exists (SPEC §2)."""

    title = "Project not found"


class EntityNotFoundError(DomainError):
    """A phase, deliverable, criterion, milestone or member is not in the project."""

    title = "Not found"

    def __init__(self, kind: str, entity_id: object) -> None:
        super().__init__(f"{kind} {entity_id} does not exist in this project")
        self.kind = kind
        self.entity_id = entity_id


class PermissionDeniedError(DomainError):
    """The caller is a member of the project but its role does not allow the command."""

    title = "Forbidden"


class InvalidValueError(DomainError):
    """A value is malformed or out of bounds (R14)."""

    title = "Invalid value"

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name
        self.message = message


class RuleViolationError(DomainError):
    """A well-formed command that one or more rules refuse; lists every reason."""

    title = "Rule violation"

    def __init__(self, violations: list[Violation]) -> None:
        assert violations, "a rule violation needs at least one reason"
        super().__init__("; ".join(v.message for v in violations))
        self.violations = violations


class VersionMismatchError(DomainError):
    """`If-Match` named a version the project is no longer at."""

    title = "Precondition failed"

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"the project is at version {actual}, not {expected}")
        self.expected = expected
        self.actual = actual


def refuse(rule: str, message: str, **details: Any) -> RuleViolationError:
    """Builds the error for a single broken rule."""
    return RuleViolationError([Violation(rule, message, details)])
