"""The audit trail's one-line English summaries ("carol approved 'Analysis report draft'"), and
the names events give the entities those summaries mention.

A summary is a `format()` template (literal text with '%' doubled, a '%s' slot per entity name)
and the ids whose names, as they are when the event is applied, fill its slots.
"""

from __future__ import annotations

import re
from functools import singledispatch

from domain import events as ev

Summary = tuple[str, list[str]]  # (template, the ids whose names fill its %s slots)

_SPACE = re.compile(r"\s+")
REASON_SHOWN = 120  # characters of a reason a summary keeps; the data has it whole


def _lit(text: str) -> str:
    """Literal text inside a format() template: one line, and '%' escaped."""
    return _SPACE.sub(" ", text).strip().replace("%", "%%")


def _reason(reason: str) -> str:
    one_line = _SPACE.sub(" ", reason).strip()
    if len(one_line) > REASON_SHOWN:
        one_line = one_line[: REASON_SHOWN - 1] + "…"
    return one_line.replace("%", "%%")


def _who(event: ev.ProjectEvent) -> str:
    return _lit(event.actor)


def _signed(event: ev.ProjectEvent) -> str:
    """R27: a signing event's manifestation, appended to its summary: " — signed by Carol
    Danvers (carol) as approval" (the time is the row's `occurred_at`). An event stored
    before signatures recorded a printed name says so rather than make one up; one that
    recorded nothing of a signature adds nothing."""
    meaning: str | None = getattr(event, "meaning", None)
    printed: str | None = getattr(event, "signer_name", None)
    if meaning is None and printed is None:
        return ""
    who = (
        f"{_who(event)} (printed name not recorded)"
        if printed is None
        else f"{_lit(printed)} ({_who(event)})"
    )
    return f" — signed by {who} as {_lit(meaning or 'meaning not recorded')}"


# --- names ---------------------------------------------------------------------------------


@singledispatch
def name_given(event: ev.ProjectEvent) -> tuple[str, str] | None:
    """(entity id, name) when the event names or renames an entity."""
    return None


@name_given.register
def _project_named(event: ev.ProjectCreated) -> tuple[str, str] | None:
    return str(event.originator_id), event.name


@name_given.register
def _phase_named(event: ev.PhaseAdded) -> tuple[str, str] | None:
    return str(event.phase_id), event.name


@name_given.register
def _deliverable_named(
    event: ev.DeliverableDefined | ev.DeliverableRetitled,
) -> tuple[str, str] | None:
    return str(event.deliverable_id), event.title


@name_given.register
def _criterion_named(event: ev.CriterionAdded) -> tuple[str, str] | None:
    return str(event.criterion_id), event.text


@name_given.register
def _milestone_named(event: ev.MilestoneDefined) -> tuple[str, str] | None:
    return str(event.milestone_id), event.name


# --- summaries -----------------------------------------------------------------------------


@singledispatch
def summary_template(event: ev.ProjectEvent) -> Summary:
    """A one-line summary as a format() template, and the ids whose names fill its %s slots."""
    return f"{_who(event)} recorded {event.type_name}", []


@summary_template.register
def _project_created(event: ev.ProjectCreated) -> Summary:
    return f"{_who(event)} created project '{_lit(event.name)}'", []


@summary_template.register
def _member_added(event: ev.MemberAdded) -> Summary:
    return f"{_who(event)} added {_lit(event.principal)} as {event.role}", []


@summary_template.register
def _member_role_changed(event: ev.MemberRoleChanged) -> Summary:
    return (
        f"{_who(event)} changed the role of {_lit(event.principal)} from {event.previous_role} "
        f"to {event.role}",
        [],
    )


@summary_template.register
def _member_removed(event: ev.MemberRemoved) -> Summary:
    return (
        f"{_who(event)} removed {_lit(event.principal)} from project '%s'",
        [str(event.originator_id)],
    )


@summary_template.register
def _group_set(event: ev.GroupMembersSet) -> Summary:
    members = ", ".join(_lit(m) for m in event.members)
    verb = "created" if event.previous_members is None else "set"
    return f"{_who(event)} {verb} group '{_lit(event.name)}' of {members}", []


@summary_template.register
def _phase_added(event: ev.PhaseAdded) -> Summary:
    return f"{_who(event)} added phase '{_lit(event.name)}'", []


@summary_template.register
def _deliverable_defined(event: ev.DeliverableDefined) -> Summary:
    return f"{_who(event)} defined {event.kind} '{_lit(event.title)}'", []


@summary_template.register
def _criterion_added(event: ev.CriterionAdded) -> Summary:
    return (
        f"{_who(event)} added criterion '{_lit(event.text)}' to '%s'",
        [str(event.deliverable_id)],
    )


@summary_template.register
def _evidence_recorded(event: ev.EvidenceRecorded) -> Summary:
    return (
        f"{_who(event)} recorded evidence for '%s' of '%s'",
        [str(event.criterion_id), str(event.deliverable_id)],
    )


@summary_template.register
def _milestone_defined(event: ev.MilestoneDefined) -> Summary:
    return f"{_who(event)} defined milestone '{_lit(event.name)}' due {event.due.isoformat()}", []


@summary_template.register
def _linked(event: ev.DeliverableLinked) -> Summary:
    return (
        f"{_who(event)} linked '%s' to milestone '%s'",
        [str(event.deliverable_id), str(event.milestone_id)],
    )


@summary_template.register
def _unlinked(event: ev.DeliverableUnlinked) -> Summary:
    return (
        f"{_who(event)} unlinked '%s' from milestone '%s'",
        [str(event.deliverable_id), str(event.milestone_id)],
    )


@summary_template.register
def _rebaselined(event: ev.ProjectRebaselined) -> Summary:
    count = len(event.baselines)
    noun = "milestone" if count == 1 else "milestones"
    return f"{_who(event)} re-baselined {count} open {noun}: {_reason(event.reason)}", []


# --- what happened to one deliverable: its name fills the one slot -------------------------


def _of_deliverable(event: ev.DeliverableEvent, template: str) -> Summary:
    return template, [str(event.deliverable_id)]


@summary_template.register
def _deliverable_event(event: ev.DeliverableEvent) -> Summary:
    return _of_deliverable(event, f"{_who(event)} recorded {event.type_name} on '%s'")


@summary_template.register
def _retitled(event: ev.DeliverableRetitled) -> Summary:
    return _of_deliverable(event, f"{_who(event)} retitled '%s' to '{_lit(event.title)}'")


@summary_template.register
def _described(event: ev.DeliverableDescribed) -> Summary:
    return _of_deliverable(event, f"{_who(event)} changed the description of '%s'")


@summary_template.register
def _owner_assigned(event: ev.DeliverableOwnerAssigned) -> Summary:
    if event.owner is None:
        return _of_deliverable(event, f"{_who(event)} cleared the owner of '%s'")
    return _of_deliverable(event, f"{_who(event)} made {_lit(event.owner)} the owner of '%s'")


@summary_template.register
def _moved_to_phase(event: ev.DeliverableMovedToPhase) -> Summary:
    return _of_deliverable(event, f"{_who(event)} moved '%s' to another phase")


@summary_template.register
def _kind_changed(event: ev.DeliverableKindChanged) -> Summary:
    return _of_deliverable(event, f"{_who(event)} made '%s' a {event.kind}")


@summary_template.register
def _submitted(event: ev.DeliverableSubmitted) -> Summary:
    return _of_deliverable(event, f"{_who(event)} submitted '%s' for review")


@summary_template.register
def _quorum_set(event: ev.DeliverableQuorumSet) -> Summary:
    groups = ", ".join(_lit(g) for g in event.required_groups)
    return _of_deliverable(
        event,
        f"{_who(event)} made '%s' need {event.required_approvals} approvals "
        f"(was {event.previous_required_approvals})"
        + (f", one from each of the groups {groups}" if groups else ""),
    )


@summary_template.register
def _approval_signed(event: ev.DeliverableApprovalSigned) -> Summary:
    return _of_deliverable(
        event,
        f"{_who(event)} approved '%s', "
        f"one of {event.required_approvals} approvals needed{_signed(event)}",
    )


@summary_template.register
def _approved(event: ev.DeliverableApproved) -> Summary:
    if event.required_approvals > 1:
        signers = ", ".join(_lit(s) for s in event.round_signers)
        return _of_deliverable(
            event,
            f"{_who(event)} approved '%s', completing its round's approvals by {signers}"
            + _signed(event),
        )
    return _of_deliverable(event, f"{_who(event)} approved '%s'{_signed(event)}")


@summary_template.register
def _rejected(event: ev.DeliverableRejected) -> Summary:
    return _of_deliverable(
        event, f"{_who(event)} rejected '%s': {_reason(event.reason)}{_signed(event)}"
    )


@summary_template.register
def _deliverable_reopened(event: ev.DeliverableReopened) -> Summary:
    return _of_deliverable(
        event, f"{_who(event)} reopened '%s': {_reason(event.reason)}{_signed(event)}"
    )


@summary_template.register
def _deliverable_cancelled(event: ev.DeliverableCancelled) -> Summary:
    return _of_deliverable(event, f"{_who(event)} cancelled '%s': {_reason(event.reason)}")


# --- what happened to one milestone: its name fills the one slot ---------------------------


def _of_milestone(event: ev.MilestoneEvent, template: str) -> Summary:
    return template, [str(event.milestone_id)]


@summary_template.register
def _milestone_event(event: ev.MilestoneEvent) -> Summary:
    return _of_milestone(event, f"{_who(event)} recorded {event.type_name} on '%s'")


@summary_template.register
def _rescheduled(event: ev.MilestoneRescheduled) -> Summary:
    return _of_milestone(
        event,
        f"{_who(event)} rescheduled '%s' from {event.previous_due.isoformat()} to "
        f"{event.due.isoformat()}: {_reason(event.reason)}",
    )


@summary_template.register
def _achieved(event: ev.MilestoneAchieved) -> Summary:
    return _of_milestone(event, f"{_who(event)} achieved '%s'{_signed(event)}")


@summary_template.register
def _milestone_reopened(event: ev.MilestoneReopened) -> Summary:
    return _of_milestone(
        event, f"{_who(event)} reopened '%s': {_reason(event.reason)}{_signed(event)}"
    )


@summary_template.register
def _milestone_cancelled(event: ev.MilestoneCancelled) -> Summary:
    return _of_milestone(event, f"{_who(event)} cancelled '%s': {_reason(event.reason)}")


# --- dependencies: the milestone's name, then its predecessor's ------------------------------


def _of_dependency(event: ev.MilestoneEvent, predecessor_id: object, template: str) -> Summary:
    return template, [str(event.milestone_id), str(predecessor_id)]


@summary_template.register
def _dependency_added(event: ev.MilestoneDependencyAdded) -> Summary:
    return _of_dependency(
        event,
        event.predecessor_id,
        f"{_who(event)} made '%s' depend on '%s' (lag {event.lag_days} days)",
    )


@summary_template.register
def _dependency_lag_changed(event: ev.MilestoneDependencyLagChanged) -> Summary:
    return _of_dependency(
        event,
        event.predecessor_id,
        f"{_who(event)} changed the lag of '%s' after '%s' from {event.previous_lag_days} to "
        f"{event.lag_days} days",
    )


@summary_template.register
def _dependency_removed(event: ev.MilestoneDependencyRemoved) -> Summary:
    return _of_dependency(
        event, event.predecessor_id, f"{_who(event)} removed the dependency of '%s' on '%s'"
    )


# --- phase gates (R24, R25): the phase's name fills the slot -------------------------------


@summary_template.register
def _phases_reordered(event: ev.PhasesReordered) -> Summary:
    slots = ", ".join("'%s'" for _ in event.phase_ids)
    return f"{_who(event)} ordered the phases: {slots}", [str(p) for p in event.phase_ids]


@summary_template.register
def _exit_gate_set(event: ev.PhaseExitGateSet) -> Summary:
    if event.required:
        return f"{_who(event)} gave phase '%s' an exit gate", [str(event.phase_id)]
    return f"{_who(event)} took the exit gate of phase '%s' away", [str(event.phase_id)]


@summary_template.register
def _gate_decided(event: ev.GateDecided) -> Summary:
    people = ", ".join(_lit(p) for p in event.participants)
    independent = ", ".join(_lit(p) for p in event.independent)
    conditions = len(event.conditions)
    also = "" if not conditions else f", {conditions} condition{'s' if conditions > 1 else ''}"
    return (
        f"{_who(event)} ({_lit(event.signer_name)}, {event.meaning}) decided "
        f"{event.decision} at the exit gate of phase '%s'{also}; participants {people} "
        f"(independent: {independent}): {_reason(event.reason)}",
        [str(event.phase_id)],
    )


@summary_template.register
def _condition_closed(event: ev.GateConditionClosed) -> Summary:
    return (
        f"{_who(event)} closed a condition of the exit gate of phase '%s': {_reason(event.how)}",
        [str(event.phase_id)],
    )
