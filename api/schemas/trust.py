"""The answer of `GET /v1/verify`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class DerivedFinding(BaseModel):
    """A snapshot or as-of index row the events do not bear out (docs/trust.md §8)."""

    record: Literal["snapshot", "as_of"] = Field(
        description="`snapshot`, or `as_of`: a row of the as-of index behind `?as_of=`"
    )
    problem: Literal["forged", "orphaned"] = Field(
        description="`orphaned`: no event has its version; `forged`: its event says otherwise"
    )
    project_id: str = Field(description="the project the record names")
    version: int = Field(description="the project version the record names")
    position: int | None = Field(
        description="position of the project's event at that version (null: there is none)"
    )
    detail: str = Field(description="what does not match")


class DerivedReport(BaseModel):
    """The derived records checked against the events: a verdict apart from the chain's."""

    ok: bool = Field(
        description="true only if no snapshot or as-of index row is forged or orphaned"
    )
    snapshots_checked: int = Field(ge=0, description="stored snapshots checked")
    snapshots_unsigned: int = Field(
        ge=0,
        description="unsigned snapshots (written before snapshots were signed) that match "
        "their events; reads never use them",
    )
    as_of_rows_checked: int = Field(
        ge=0,
        description="as-of index rows checked against their events now (the database checks "
        "every row as it is written since migration 0007; these are the ones it did not confirm)",
    )
    findings_total: int = Field(ge=0, description="forged and orphaned records found")
    findings: list[DerivedFinding] = Field(
        description="the first 1000 findings, by position (records with no event last)"
    )


class SignerReport(BaseModel):
    """A key that signed checkpoints, and whether the keyring trusts it (docs/trust.md §4)."""

    key_id: str = Field(
        description="hex of the first 16 bytes of sha256 over the key's 32 raw public bytes"
    )
    standing: Literal["trusted", "rotated", "retired", "unknown"] = Field(
        description="`trusted`: in the keyring; `rotated`: linked to a trusted key by "
        "hand-over checkpoints both signed, at the positions where it signed; `retired`: so "
        "linked, but it also signed after handing over (untrusted); `unknown`: neither (its "
        "checkpoints are untrusted)"
    )
    checkpoints: int = Field(ge=1, description="checkpoints it signed")
    first_position: int = Field(description="position of the first of them")
    last_position: int = Field(description="position of the last of them")
    hand_overs: int = Field(ge=0, description="hand-over checkpoints among them")


class VerifyReport(BaseModel):
    """What `GET /v1/verify` found (SPEC §3)."""

    ok: bool = Field(
        description="true only if the chain is intact and every checkpoint's signature holds "
        "(whoever signed it: see `signers`)"
    )
    events_checked: int = Field(ge=0, description="events whose chain hash was recomputed")
    head: str | None = Field(
        description="hex sha256 chain hash of the last event checked (null: empty log)"
    )
    head_position: int | None = Field(description="position of the last event checked")
    first_broken_position: int | None = Field(
        description="first position where the log no longer matches (null when intact)"
    )
    problem: str | None = Field(description="what broke there (null when intact)")
    checkpoints_checked: int = Field(ge=0, description="signed checkpoints found in the log")
    signed_by_trusted_keys: bool = Field(
        description="true if no checkpoint is signed by a key outside the keyring (apart from `ok`)"
    )
    keyring: list[str] = Field(description="key ids trusted: the service's own key")
    signers: list[SignerReport] = Field(description="who signed the checkpoints, by key")
    derived: DerivedReport = Field(
        description="snapshots and as-of index rows checked against the events; not part of `ok`"
    )
