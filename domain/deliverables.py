"""The deliverable commands of the `Project` aggregate: define, edit, criteria, evidence, review.

Each checks its rules with named guards that cite them (the lifecycle's steps come from
`domain.rules`), then triggers one event per fact.
"""

from __future__ import annotations

from typing import Final
from uuid import UUID, uuid4

from domain import events as ev
from domain import rules
from domain import validation as valid
from domain.contents import ProjectContents
from domain.entities import ArtifactRef, Deliverable, DeliverableKind, SignatureMeaning
from domain.errors import InvalidValueError, RuleViolationError, Violation, refuse
from domain.signatures import DEFAULT_MEANINGS, deliverable_digest
from domain.states import DeliverableState


class _Unset:
    """Marks a field a partial update leaves alone (distinct from None, which clears it)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()

# A state as words in a sentence ("'Spec' is in draft; only a deliverable in review can be ...").
_STATE_WORDS: Final = {
    DeliverableState.DRAFT: "in draft",
    DeliverableState.IN_REVIEW: "in review",
    DeliverableState.APPROVED: "approved",
    DeliverableState.CANCELLED: "cancelled",
}


class DeliverableCommands(ProjectContents):
    def define_deliverable(
        self,
        *,
        title: str,
        phase_id: UUID,
        kind: DeliverableKind = DeliverableKind.OTHER,
        description: str = "",
        owner: str | None = None,
        actor: str,
    ) -> UUID:
        deliverable_id = uuid4()
        self._trigger(
            ev.DeliverableDefined,
            deliverable_id=deliverable_id,
            title=valid.name("title", title),
            description=valid.text("description", description),
            kind=DeliverableKind(kind).value,
            phase_id=self._referenced_phase(phase_id),
            owner=None if owner is None else valid.name("owner", owner),
            actor=actor,
        )
        return deliverable_id

    def update_deliverable(
        self,
        deliverable_id: UUID,
        *,
        title: str | _Unset = UNSET,
        description: str | _Unset = UNSET,
        owner: str | _Unset | None = UNSET,
        phase_id: UUID | _Unset = UNSET,
        kind: DeliverableKind | _Unset = UNSET,
        actor: str,
    ) -> None:
        """Records one event per field that really changes; none when nothing does.

        Every value is checked before any event is triggered, so a refused edit records nothing.
        """
        deliverable = self.deliverable(deliverable_id)
        self._check_not_cancelled(deliverable)
        if not isinstance(title, _Unset):
            valid.name("title", title)
        if not isinstance(description, _Unset):
            valid.text("description", description)
        if owner is not None and not isinstance(owner, _Unset):
            valid.name("owner", owner)
        if not isinstance(phase_id, _Unset):
            self._referenced_phase(phase_id)
        if not isinstance(kind, _Unset):
            kind = DeliverableKind(kind)

        did = deliverable.id
        if not isinstance(title, _Unset) and title != deliverable.title:
            self._trigger(ev.DeliverableRetitled, deliverable_id=did, title=title, actor=actor)
        if not isinstance(description, _Unset) and description != deliverable.description:
            self._trigger(
                ev.DeliverableDescribed, deliverable_id=did, description=description, actor=actor
            )
        if not isinstance(owner, _Unset) and owner != deliverable.owner:
            self._trigger(ev.DeliverableOwnerAssigned, deliverable_id=did, owner=owner, actor=actor)
        if not isinstance(phase_id, _Unset) and phase_id != deliverable.phase_id:
            self._trigger(
                ev.DeliverableMovedToPhase, deliverable_id=did, phase_id=phase_id, actor=actor
            )
        if not isinstance(kind, _Unset) and kind != deliverable.kind:
            self._trigger(
                ev.DeliverableKindChanged, deliverable_id=did, kind=kind.value, actor=actor
            )

    def add_criterion(self, deliverable_id: UUID, text: str, *, actor: str) -> UUID:
        deliverable = self.deliverable(deliverable_id)
        self._check_evidence_not_frozen(deliverable)
        criterion_id = uuid4()
        self._trigger(
            ev.CriterionAdded,
            deliverable_id=deliverable.id,
            criterion_id=criterion_id,
            text=valid.name("text", text),
            actor=actor,
        )
        return criterion_id

    def record_evidence(
        self,
        deliverable_id: UUID,
        criterion_id: UUID,
        evidence: str | None,
        sha256: str | None = None,
        *,
        artifact: ArtifactRef | None = None,
        actor: str,
    ) -> None:
        """R6: on a draft deliverable, recording again replaces the evidence. Evidence is a URI
        or text, an artifact the project keeps, or both; an artifact alone is described by its
        file name (else its digest)."""
        deliverable = self.deliverable(deliverable_id)
        criterion = self.criterion(deliverable_id, criterion_id)
        self._check_evidence_not_frozen(deliverable)
        if evidence is None:
            if artifact is None:
                raise InvalidValueError("evidence", "give a URI or text, or an artifact")
            evidence = artifact.filename or f"sha256:{artifact.sha256}"
        self._trigger(
            ev.EvidenceRecorded,
            deliverable_id=deliverable.id,
            criterion_id=criterion.id,
            evidence=valid.evidence(evidence),
            sha256=valid.sha256(sha256),
            artifact=None if artifact is None else artifact.as_dict(),
            actor=actor,
        )

    def submit(self, deliverable_id: UUID, note: str | None = None, *, actor: str) -> None:
        deliverable = self.deliverable(deliverable_id)
        self._check_moves(deliverable, rules.SUBMIT, "R4", "submitted")
        self._check_submission_gate(deliverable)
        self._trigger(
            ev.DeliverableSubmitted,
            deliverable_id=deliverable.id,
            note=valid.optional_text("note", note),
            actor=actor,
        )

    def reopen_deliverable(
        self,
        deliverable_id: UUID,
        reason: str,
        *,
        meaning: SignatureMeaning = DEFAULT_MEANINGS["reopen"],
        signer_name: str | None = None,
        actor: str,
    ) -> None:
        valid.reason("reason", reason)
        deliverable = self.deliverable(deliverable_id)
        if not rules.REOPEN_DELIVERABLE.allows(deliverable.state):
            raise refuse(
                "R6",
                f"only a deliverable in review or approved can be reopened; "
                f"'{deliverable.title}' is {deliverable.state.value}",
                state=deliverable.state.value,
            )
        self._check_not_proving_an_achieved_milestone(deliverable, "R6", "reopened")
        self._trigger(
            ev.DeliverableReopened,
            deliverable_id=deliverable.id,
            reason=reason,
            meaning=SignatureMeaning(meaning).value,
            signer_name=signer_name or actor,
            signed_digest=deliverable_digest(deliverable, rules.REOPEN_DELIVERABLE.target),
            actor=actor,
        )

    def cancel_deliverable(self, deliverable_id: UUID, reason: str, *, actor: str) -> None:
        valid.reason("reason", reason)
        deliverable = self.deliverable(deliverable_id)
        self._check_not_cancelled(deliverable)  # R10: cancelled is terminal
        self._check_not_proving_an_achieved_milestone(deliverable, "R10", "cancelled")
        self._trigger(
            ev.DeliverableCancelled, deliverable_id=deliverable.id, reason=reason, actor=actor
        )

    def _check_moves(
        self,
        deliverable: Deliverable,
        transition: rules.Transition[DeliverableState],
        rule: str,
        verb: str,
    ) -> None:
        """The lifecycle (`domain.rules`) allows this step from the deliverable's state."""
        if not transition.allows(deliverable.state):
            only = " or ".join(sorted(_STATE_WORDS[s] for s in transition.sources))
            raise refuse(
                rule,
                f"'{deliverable.title}' is {_STATE_WORDS[deliverable.state]}; "
                f"only a deliverable {only} can be {verb}",
                deliverable_id=str(deliverable.id),
                state=deliverable.state.value,
            )

    def _check_not_cancelled(self, deliverable: Deliverable) -> None:
        if deliverable.cancelled:
            raise refuse(
                "R10",
                f"deliverable '{deliverable.title}' is cancelled",
                deliverable_id=str(deliverable.id),
            )

    def _check_evidence_not_frozen(self, deliverable: Deliverable) -> None:
        """R6: criteria and evidence change only while the deliverable is a draft."""
        if not rules.evidence_frozen(deliverable.state):
            return
        self._check_not_cancelled(deliverable)
        raise refuse(
            "R6",
            f"criteria and evidence of '{deliverable.title}' are frozen while it is "
            f"{deliverable.state.value}; reopen it first",
            deliverable_id=str(deliverable.id),
            state=deliverable.state.value,
        )

    def _check_submission_gate(self, deliverable: Deliverable) -> None:
        """R4: at least one criterion, and every criterion met with evidence."""
        if not deliverable.criteria:
            raise refuse(
                "R4",
                f"deliverable '{deliverable.title}' has no completion criterion",
                deliverable_id=str(deliverable.id),
            )
        unmet = [c for c in deliverable.criteria.values() if not c.met]
        if unmet:
            raise RuleViolationError(
                [
                    Violation(
                        "R4",
                        f"criterion '{c.text}' has no evidence",
                        {"deliverable_id": str(deliverable.id), "criterion_id": str(c.id)},
                    )
                    for c in unmet
                ]
            )

    def _check_not_proving_an_achieved_milestone(
        self, deliverable: Deliverable, rule: str, verb: str
    ) -> None:
        achieved = [m for m in self.milestones_linking(deliverable.id) if m.achieved]
        if achieved:
            raise RuleViolationError(
                [
                    Violation(
                        rule,
                        f"'{deliverable.title}' cannot be {verb}: it proves achieved "
                        f"milestone '{m.name}'; reopen the milestone first",
                        {"milestone_id": str(m.id)},
                    )
                    for m in achieved
                ]
            )
