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

    def set_required_approvals(
        self,
        deliverable_id: UUID,
        required_approvals: int,
        required_groups: list[str] | None = None,
        *,
        actor: str,
    ) -> None:
        """R21: how many approvals from distinct reviewers the deliverable's review rounds
        need, and R26: the project's groups each of which one of them must belong to; set
        while it is a draft, so a round's terms never change while it runs."""
        valid.required_approvals(required_approvals)
        groups = self._required_groups(required_groups or [])
        deliverable = self.deliverable(deliverable_id)
        self._check_not_cancelled(deliverable)
        if deliverable.state is not DeliverableState.DRAFT:
            raise refuse(
                "R21",
                f"'{deliverable.title}' is {_STATE_WORDS[deliverable.state]}; its quorum "
                "changes only while it is in draft (reopen it first)",
                deliverable_id=str(deliverable.id),
                state=deliverable.state.value,
            )
        if (required_approvals, groups) == (
            deliverable.required_approvals,
            deliverable.required_groups,
        ):
            return
        self._trigger(
            ev.DeliverableQuorumSet,
            deliverable_id=deliverable.id,
            required_approvals=required_approvals,
            previous_required_approvals=deliverable.required_approvals,
            required_groups=groups,
            previous_required_groups=list(deliverable.required_groups),
            actor=actor,
        )

    def _required_groups(self, names: list[str]) -> list[str]:
        """R26: each named group exists in the project, named once (kept in the given order)."""
        unknown = [n for n in names if n not in self.groups]
        if unknown:
            raise RuleViolationError(
                [Violation("R26", f"the project has no group '{n}'", {"group": n}) for n in unknown]
            )
        if len(set(names)) != len(names):
            raise InvalidValueError("required_groups", "names a group more than once")
        return list(names)

    def approve(
        self,
        deliverable_id: UUID,
        comment: str | None = None,
        *,
        meaning: SignatureMeaning = DEFAULT_MEANINGS["approve"],
        signer_name: str | None = None,
        actor: str,
    ) -> None:
        """R5 for each reviewer; R21, R26: the approval that completes the round's quorum
        approves the deliverable, an earlier one is recorded and leaves it in review. R27: the
        signature records its meaning, the signer's printed name (`signer_name`, else the
        actor's name) and the digest of what was signed."""
        deliverable = self.deliverable(deliverable_id)
        self._check_reviewable(deliverable, actor, rules.APPROVE, "approved")
        if actor in deliverable.approvals:
            raise refuse(
                "R21",
                f"{actor} already approved '{deliverable.title}' in this review round; "
                f"it needs {deliverable.required_approvals} approvals from distinct reviewers",
                deliverable_id=str(deliverable.id),
            )
        signature = {
            "deliverable_id": deliverable.id,
            "comment": valid.optional_text("comment", comment),
            "meaning": SignatureMeaning(meaning).value,
            # What was approved: the digests of every criterion's evidence, now.
            "evidence_digests": [
                c.evidence.pinned(c.id) for c in deliverable.criteria.values() if c.evidence
            ],
            "required_approvals": deliverable.required_approvals,
            "required_groups": list(deliverable.required_groups),
            "signer_name": signer_name or actor,
        }
        signers = [*deliverable.approvals, actor]
        met = rules.quorum_met(
            signers, deliverable.required_approvals, deliverable.required_groups, self.groups
        )
        if not met:
            digest = deliverable_digest(deliverable, deliverable.state)
            self._trigger(
                ev.DeliverableApprovalSigned, **signature, signed_digest=digest, actor=actor
            )
            return
        self._trigger(
            ev.DeliverableApproved,
            **signature,
            signers=signers,
            signed_digest=deliverable_digest(deliverable, rules.APPROVE.target),
            actor=actor,
        )

    def reject(
        self,
        deliverable_id: UUID,
        reason: str,
        *,
        meaning: SignatureMeaning = DEFAULT_MEANINGS["reject"],
        signer_name: str | None = None,
        actor: str,
    ) -> None:
        valid.reason("reason", reason)
        deliverable = self.deliverable(deliverable_id)
        self._check_reviewable(deliverable, actor, rules.REJECT, "rejected")
        self._trigger(
            ev.DeliverableRejected,
            deliverable_id=deliverable.id,
            reason=reason,
            meaning=SignatureMeaning(meaning).value,
            signer_name=signer_name or actor,
            signed_digest=deliverable_digest(deliverable, rules.REJECT.target),
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

    def _check_reviewable(
        self,
        deliverable: Deliverable,
        reviewer: str,
        transition: rules.Transition[DeliverableState],
        verb: str,
    ) -> None:
        """R5: only a deliverable in review, and never by the principal who submitted it."""
        self._check_moves(deliverable, transition, "R5", verb)
        if deliverable.submitted_by == reviewer:
            raise refuse(
                "R5",
                f"{reviewer} submitted '{deliverable.title}' and so cannot review it "
                "(separation of duties)",
                deliverable_id=str(deliverable.id),
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
