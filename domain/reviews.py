"""The review commands of the `Project` aggregate: a deliverable's quorum (R21, R26), and the
signatures of a review round — approve (R5 for each reviewer, R21, R26) and reject (R22).

Each signature records its meaning, the signer's printed name and the digest of what was
signed (R27, `domain.signatures`).
"""

from __future__ import annotations

from uuid import UUID

from domain import events as ev
from domain import rules
from domain import validation as valid
from domain.deliverables import _STATE_WORDS, DeliverableCommands
from domain.entities import Deliverable, SignatureMeaning
from domain.errors import InvalidValueError, RuleViolationError, Violation, refuse
from domain.signatures import DEFAULT_MEANINGS, deliverable_digest
from domain.states import DeliverableState


class ReviewCommands(DeliverableCommands):
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
        deliverable = self.deliverable(deliverable_id)
        groups = self._required_groups(required_groups or [])
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
        # R26: earlier approvers count for the groups they were in when they approved.
        stands_for = {
            **{who: deliverable.approval_groups.get(who, []) for who in deliverable.approvals},
            actor: rules.groups_of(actor, self.groups),
        }
        met = rules.quorum_met(
            stands_for, deliverable.required_approvals, deliverable.required_groups
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
