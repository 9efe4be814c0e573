"""The states a deliverable and a milestone can be in (SPEC §1); `domain.rules` moves them."""

from __future__ import annotations

from enum import StrEnum


class DeliverableState(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    CANCELLED = "cancelled"


class MilestoneStatus(StrEnum):
    NOT_ACHIEVED = "not_achieved"
    ACHIEVED = "achieved"
    CANCELLED = "cancelled"
