"""What a signature signs (R27, 21 CFR Part 11 §11.70): a canonical JSON of the record, and its
SHA-256, which the signing event keeps as `signed_digest`.

The canonical form is JSON with sorted keys, no spaces (separators "," and ":"), UTF-8 without
escaping non-ASCII, of a dict built only of strings, nulls and lists; lists are sorted by their
ids. docs/trust.md §11 writes it out so an auditor recomputes a digest from the events alone:

- a deliverable: `{"deliverable_id", "title", "from", "to", "criteria": [{"criterion_id",
  "text", "evidence", "artifact", "sha256"}, ...]}` (evidence, artifact and sha256 null for a
  criterion with no evidence);
- a milestone: `{"milestone_id", "name", "due", "from", "to", "deliverables":
  [{"deliverable_id", "evidence_digests": [{"criterion_id", "artifact", "sha256"}, ...]}, ...]}`.

`from` and `to` are the states of the transition signed (`in_review` → `approved`, ...).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from domain.entities import Deliverable, Milestone, SignatureMeaning
from domain.states import DeliverableState, MilestoneStatus

# What a signing command means when its body says nothing (R27).
DEFAULT_MEANINGS = {
    "approve": SignatureMeaning.APPROVAL,
    "reject": SignatureMeaning.REVIEW,
    "achieve": SignatureMeaning.RESPONSIBILITY,
    "reopen": SignatureMeaning.RESPONSIBILITY,
}


def canonical(document: dict[str, Any]) -> bytes:
    """The bytes a digest is taken of: sorted keys, no whitespace, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(document)).hexdigest()


def deliverable_document(deliverable: Deliverable, to: DeliverableState) -> dict[str, Any]:
    """What signing `deliverable`'s move to `to` signs: its id, title, criteria and evidence."""
    criteria = []
    # The criteria are kept by their ids' text already: sorted by it, no UUID made text again.
    for key, criterion in sorted(deliverable.criteria.items()):
        evidence = criterion.evidence
        artifact = None if evidence is None or evidence.artifact is None else evidence.artifact
        criteria.append(
            {
                "criterion_id": key,
                "text": criterion.text,
                "evidence": None if evidence is None else evidence.evidence,
                "artifact": None if artifact is None else artifact.sha256,
                "sha256": None if evidence is None else evidence.sha256,
            }
        )
    return {
        "deliverable_id": str(deliverable.id),
        "title": deliverable.title,
        "from": deliverable.state.value,
        "to": to.value,
        "criteria": criteria,
    }


def milestone_document(
    milestone: Milestone, linked: Iterable[Deliverable], to: MilestoneStatus
) -> dict[str, Any]:
    """What signing `milestone`'s move to `to` signs: its id, name, due date, and each linked
    deliverable's evidence digests."""
    deliverables = [
        {
            "deliverable_id": str(d.id),
            "evidence_digests": [
                {
                    "criterion_id": key,
                    "artifact": None if c.evidence.artifact is None else c.evidence.artifact.sha256,
                    "sha256": c.evidence.sha256,
                }
                for key, c in sorted(d.criteria.items())
                if c.evidence is not None
            ],
        }
        for d in sorted(linked, key=lambda d: str(d.id))
    ]
    return {
        "milestone_id": str(milestone.id),
        "name": milestone.name,
        "due": milestone.due.isoformat(),
        "from": milestone.status.value,
        "to": to.value,
        "deliverables": deliverables,
    }


def deliverable_digest(deliverable: Deliverable, to: DeliverableState) -> str:
    return digest(deliverable_document(deliverable, to))


def milestone_digest(
    milestone: Milestone, linked: Iterable[Deliverable], to: MilestoneStatus
) -> str:
    return digest(milestone_document(milestone, linked, to))
