"""The evidence pack's offline verifier: one module an auditor can read whole.

It imports only the standard library and `cryptography` (for Ed25519), never the service: run
it as `milestones verify --pack FILE --public-key KEY`, or copy this file alone and run
`python verify_pack.py FILE --public-key KEY`. No database, no network.

A pack (`GET /v1/projects/{pid}/milestones/{mid}/evidence-pack`) is a zip file holding:

    manifest.json        what the pack shows (milestone, deliverables, review rounds, evidence,
                         achievement, artifacts), re-derived here from the events and compared
    checkpoint.json      a signed checkpoint (position, head, count, signed_at, key id, public
                         key, signature; docs/trust.md §4) at or after the achievement
    chain.json           the chain segment: `previous_hash` (the chain hash before its first
                         row), `count_before` (rows before it), and every row from the
                         project's first event to the checkpoint's position, in order: the
                         project's own rows as {p, v, t, d} (position, version, topic, row
                         digest) and every other row as {p, d} only (position, row digest)
    events/<p>.json      the stored bytes (`state`) of the project's event at position p
    artifacts/<sha256>   the bytes of each artifact the evidence names (absent when the pack
                         was made with ?artifacts=false; their digests stay in the manifest)

The checks, in this order; the first that fails is named (`PackError.part` is the file):

1. the layout: the three JSON files are there and readable; no file the format does not know;
2. checkpoint.json: its signature holds under the public key it names (both signatures of a
   hand-over checkpoint);
3. chain.json and events/: each event's row digest, recomputed from its bytes, is the one the
   segment lists; the project's versions run 1, 2, 3 … without a gap; the segment's rows,
   chained from `previous_hash` with link version 2, end at the checkpoint's position with its
   head, and `count_before` + the rows = its count;
4. manifest.json: equal to the manifest derived from the events;
5. artifacts/: each file's SHA-256 and size are the ones the manifest (so the events) name;
6. the signatures (R27): each event that recorded a `signed_digest` signed exactly what the
   events before it say (the canonical JSON of docs/trust.md §11, recomputed here).

Then, apart from whether the pack is intact: who signed the checkpoint. Trusted when its key (or,
for a hand-over, the key it replaced) is one of the auditor's `--public-key`s.

Link version 2 (docs/trust.md §3), for every row of the segment:

    row_digest = sha256(int8(position) || uuid(stream) || int8(version)
                        || int4(len topic) || topic || int4(len state) || state)
    chain_hash = sha256(previous chain_hash || row_digest)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import re
import struct
import sys
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PACK_FORMAT = "milestone-ledger evidence pack v1"
SEGMENT_FORMAT = "milestone-ledger chain segment v2"
MANIFEST = "manifest.json"
CHECKPOINT = "checkpoint.json"
SEGMENT = "chain.json"
EVENTS = "events/"
ARTIFACTS = "artifacts/"

GENESIS = bytes(32)
_INT8 = struct.Struct(">q")
_INT4 = struct.Struct(">i")
_EVENT_NAME = re.compile(r"^events/(\d+)\.json$")
_ARTIFACT_NAME = re.compile(r"^artifacts/([0-9a-f]{64})$")

# Exit codes, as `milestones verify`'s (docs/trust.md §4).
OK, BROKEN, UNREADABLE, UNTRUSTED = 0, 1, 2, 4


# --- the chain -------------------------------------------------------------------------------


def _field(value: bytes) -> bytes:
    return _INT4.pack(len(value)) + value


def row_digest(position: int, stream: bytes, version: int, topic: bytes, state: bytes) -> bytes:
    """One stored event's digest: `stream` is the project id's 16 bytes, `topic` UTF-8."""
    return hashlib.sha256(
        _INT8.pack(position) + stream + _INT8.pack(version) + _field(topic) + _field(state)
    ).digest()


def link(previous: bytes, digest: bytes) -> bytes:
    """Link version 2: the chain hash of a row from the one before it and its digest."""
    return hashlib.sha256(previous + digest).digest()


# --- the checkpoint --------------------------------------------------------------------------


def key_id(public_key: bytes) -> str:
    """A key's id: hex of the first 16 bytes of sha256 over its 32 raw public bytes."""
    return hashlib.sha256(public_key).digest()[:16].hex()


def checkpoint_message(checkpoint: dict[str, Any]) -> bytes:
    """The exact message a checkpoint's signature covers (docs/trust.md §4)."""
    lines = [
        checkpoint["format"],
        f"position={checkpoint['position']}",
        f"head={checkpoint['head']}",
        f"count={checkpoint['count']}",
        f"signed_at={checkpoint['signed_at']}",
    ]
    if checkpoint["format"] == "milestone-ledger checkpoint v2":
        lines.append(f"key_id={key_id(_b64(checkpoint['public_key']))}")
        if "previous_public_key" in checkpoint:
            lines.append(f"previous_key_id={key_id(_b64(checkpoint['previous_public_key']))}")
    elif checkpoint["format"] != "milestone-ledger checkpoint v1":
        raise ValueError(f"unknown checkpoint format {checkpoint['format']!r}")
    return "".join(line + "\n" for line in lines).encode()


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


# --- the manifest ----------------------------------------------------------------------------


def decode_state(state: bytes) -> dict[str, Any]:
    """A stored event's JSON, with the event store's typed values (`{"_type_": …, "_data_": …}`)
    as plain JSON: UUIDs in their canonical text, dates and times as ISO 8601 text."""
    value = _plain(json.loads(state))
    if not isinstance(value, dict):
        raise ValueError("an event's state is a JSON object")
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            if value["_type_"] == "uuid_hex":
                return str(uuid.UUID(hex=value["_data_"]))
            return _plain(value["_data_"])
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


_META = {"originator_id", "originator_version", "timestamp", "actor"}


def _entry(name: str, position: int, state: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "event": name,
        "position": position,
        "version": state.get("originator_version"),
        "at": state.get("timestamp"),
        "by": state.get("actor"),
    }
    entry.update({k: v for k, v in sorted(state.items()) if k not in _META})
    return entry


def derive_manifest(
    project_id: str,
    milestone_id: str,
    events: Sequence[tuple[int, str, bytes]],
    checkpoint: dict[str, Any],
    artifacts_included: bool,
) -> dict[str, Any]:
    """What the pack shows, from the project's events (position, topic, state) in order: the
    milestone's history (definition, due dates, baselines, links, moves), every deliverable
    ever linked to it with its criteria, evidence and review rounds (who, when, why), the last
    achievement, and the artifacts the evidence names."""
    decoded = [
        (p, topic.rsplit(":", 1)[-1].rsplit(".", 1)[-1], decode_state(s)) for p, topic, s in events
    ]
    linked: list[str] = []
    for _, name, state in decoded:
        if state.get("milestone_id") != milestone_id:
            continue
        for deliverable in state.get("deliverable_ids") or []:
            if deliverable not in linked:
                linked.append(deliverable)
        if name == "DeliverableLinked" and state["deliverable_id"] not in linked:
            linked.append(state["deliverable_id"])
    project: dict[str, Any] = {"id": project_id, "name": None}
    milestone: dict[str, Any] = {"id": milestone_id, "name": None, "history": []}
    deliverables: dict[str, dict[str, Any]] = {
        d: {"id": d, "title": None, "history": []} for d in linked
    }
    achievement: dict[str, Any] | None = None
    artifacts: dict[str, dict[str, Any]] = {}
    for position, name, state in decoded:
        if name == "ProjectCreated":
            project["name"] = state.get("name")
        if name == "ProjectRebaselined" and milestone_id in (state.get("baselines") or {}):
            milestone["history"].append(
                {
                    "event": name,
                    "position": position,
                    "version": state.get("originator_version"),
                    "at": state.get("timestamp"),
                    "by": state.get("actor"),
                    "baseline": state["baselines"][milestone_id],
                    "previous_baseline": (state.get("previous_baselines") or {}).get(milestone_id),
                    "reason": state.get("reason"),
                }
            )
        elif state.get("milestone_id") == milestone_id:
            if name == "MilestoneDefined":
                milestone["name"] = state.get("name")
            milestone["history"].append(_entry(name, position, state))
            if name == "MilestoneAchieved":
                achievement = _entry(name, position, state)
            elif name in ("MilestoneReopened", "MilestoneCancelled"):
                achievement = None
        elif state.get("deliverable_id") in deliverables and "milestone_id" not in state:
            deliverable = deliverables[state["deliverable_id"]]
            if name in ("DeliverableDefined", "DeliverableRetitled"):
                deliverable["title"] = state.get("title")
            deliverable["history"].append(_entry(name, position, state))
            artifact = state.get("artifact") if name == "EvidenceRecorded" else None
            if isinstance(artifact, dict) and "sha256" in artifact:
                artifacts[artifact["sha256"]] = {
                    "sha256": artifact["sha256"],
                    "size": artifact.get("size"),
                    "media_type": artifact.get("media_type"),
                    "filename": artifact.get("filename"),
                }
    return {
        "format": PACK_FORMAT,
        "project": project,
        "milestone": milestone,
        "deliverables": [deliverables[d] for d in linked],
        "achievement": achievement,
        "artifacts": [artifacts[digest] for digest in sorted(artifacts)],
        "artifacts_included": artifacts_included,
        "events": {
            "count": len(events),
            "first_position": events[0][0] if events else None,
            "last_position": events[-1][0] if events else None,
        },
        "checkpoint": {
            "position": checkpoint.get("position"),
            "head": checkpoint.get("head"),
            "key_id": checkpoint.get("key_id"),
        },
    }


# --- the signatures (R27, docs/trust.md §11) ---------------------------------------------------

# The state a signing event leaves its deliverable or milestone in (`to` of what it signed).
_DELIVERABLE_TO = {
    "DeliverableSubmitted": "in_review",
    "DeliverableApprovalSigned": "in_review",
    "DeliverableApproved": "approved",
    "DeliverableRejected": "draft",
    "DeliverableReopened": "draft",
    "DeliverableCancelled": "cancelled",
}
_MILESTONE_TO = {
    "MilestoneAchieved": "achieved",
    "MilestoneReopened": "not_achieved",
    "MilestoneCancelled": "cancelled",
}


def canonical_digest(document: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON: sorted keys, no whitespace, UTF-8 (docs/trust.md §11)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _criteria(d: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for cid in sorted(d["criteria"]):
        text, evidence = d["criteria"][cid]
        artifact = (evidence or {}).get("artifact")
        found.append(
            {
                "criterion_id": cid,
                "text": text,
                "evidence": None if evidence is None else evidence.get("evidence"),
                "artifact": artifact.get("sha256") if isinstance(artifact, dict) else None,
                "sha256": None if evidence is None else evidence.get("sha256"),
            }
        )
    return found


def signed_digests(events: Sequence[tuple[int, str, bytes]]) -> list[tuple[int, str, str]]:
    """(position, recorded, recomputed) for each event of the project (all of them, in order)
    that recorded a `signed_digest`: the digest recomputed here from the events before it."""
    deliverables: dict[str, dict[str, Any]] = {}
    milestones: dict[str, dict[str, Any]] = {}
    found: list[tuple[int, str, str]] = []
    for position, topic, raw in events:
        name = topic.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        state = decode_state(raw)
        did, mid = str(state.get("deliverable_id")), str(state.get("milestone_id"))
        recorded = state.get("signed_digest")
        if name == "DeliverableDefined":
            deliverables[did] = {"title": state["title"], "state": "draft", "criteria": {}}
        elif name == "MilestoneDefined":
            milestones[mid] = {
                "name": state["name"],
                "due": state["due"],
                "status": "not_achieved",
                "links": list(state["deliverable_ids"]),
            }
        elif mid in milestones:
            m = milestones[mid]
            if name == "DeliverableLinked":
                m["links"].append(did)
            elif name == "DeliverableUnlinked":
                m["links"].remove(did)
            elif name == "MilestoneRescheduled":
                m["due"] = state["due"]
            if isinstance(recorded, str) and name in _MILESTONE_TO:
                linked = [
                    {
                        "deliverable_id": d,
                        "evidence_digests": [
                            {k: c[k] for k in ("criterion_id", "artifact", "sha256")}
                            for c in _criteria(deliverables[d])
                            if c["evidence"] is not None
                        ],
                    }
                    for d in sorted(m["links"])
                ]
                document = {
                    "milestone_id": mid,
                    "name": m["name"],
                    "due": m["due"],
                    "from": m["status"],
                    "to": _MILESTONE_TO[name],
                    "deliverables": linked,
                }
                found.append((position, recorded, canonical_digest(document)))
            m["status"] = _MILESTONE_TO.get(name, m["status"])
        elif did in deliverables:
            d = deliverables[did]
            if name == "DeliverableRetitled":
                d["title"] = state["title"]
            elif name == "CriterionAdded":
                d["criteria"][state["criterion_id"]] = (state["text"], None)
            elif name == "EvidenceRecorded":
                text, _ = d["criteria"][state["criterion_id"]]
                d["criteria"][state["criterion_id"]] = (text, state)
            if isinstance(recorded, str) and name in _DELIVERABLE_TO:
                document = {
                    "deliverable_id": did,
                    "title": d["title"],
                    "from": d["state"],
                    "to": _DELIVERABLE_TO[name],
                    "criteria": _criteria(d),
                }
                found.append((position, recorded, canonical_digest(document)))
            d["state"] = _DELIVERABLE_TO.get(name, d["state"])
    return found


# --- the verification ------------------------------------------------------------------------


class PackError(Exception):
    """The first thing in the pack that does not hold; `part` names its file."""

    def __init__(self, part: str, problem: str) -> None:
        super().__init__(f"{part}: {problem}")
        self.part = part
        self.problem = problem


@dataclass
class Report:
    ok: bool  # the pack is intact (everything but who signed it)
    trusted: bool = False  # its checkpoint was signed by a key of the auditor's
    part: str | None = None  # the file that failed
    problem: str | None = None
    key_id: str | None = None
    signers: list[str] = field(default_factory=list)  # a hand-over's two keys
    project_id: str | None = None
    milestone_id: str | None = None
    position: int | None = None
    events: int = 0
    foreign_rows: int = 0
    artifacts_checked: int = 0
    signatures_checked: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if not self.ok:
            return BROKEN
        return OK if self.trusted else UNTRUSTED

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _json(files: dict[str, bytes], name: str) -> dict[str, Any]:
    if name not in files:
        raise PackError(name, "missing from the pack")
    try:
        value = json.loads(files[name])
    except ValueError as error:
        raise PackError(name, f"not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise PackError(name, "not a JSON object")
    return value


def read_pack(data: bytes) -> dict[str, bytes]:
    """Every file of the zip, by name. Raises `PackError("pack", …)` if it is no zip."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as pack:
            return {info.filename: pack.read(info) for info in pack.infolist()}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as error:
        raise PackError("pack", f"not a readable zip file ({error})") from None


def verify_pack(data: bytes, public_keys: Sequence[bytes] = ()) -> Report:
    """Check a pack's bytes; trust its checkpoint only under one of `public_keys` (raw 32 bytes)."""
    report = Report(ok=False)
    try:
        _check(read_pack(data), report)
    except PackError as failure:
        report.part, report.problem = failure.part, failure.problem
        return report
    report.ok = True
    return _trust(report, public_keys)


def _check(files: dict[str, bytes], report: Report) -> None:
    # 1. the layout
    for name in files:
        if name in (MANIFEST, CHECKPOINT, SEGMENT):
            continue
        if not (_EVENT_NAME.match(name) or _ARTIFACT_NAME.match(name)):
            raise PackError(name, "a file the pack format does not have")
    manifest = _json(files, MANIFEST)
    checkpoint = _json(files, CHECKPOINT)
    segment = _json(files, SEGMENT)

    # 2. the checkpoint's signatures
    try:
        message = checkpoint_message(checkpoint)
        pairs = [(_b64(checkpoint["public_key"]), _b64(checkpoint["signature"]))]
        if "previous_public_key" in checkpoint:
            pairs.append(
                (_b64(checkpoint["previous_public_key"]), _b64(checkpoint["previous_signature"]))
            )
        position, count = int(checkpoint["position"]), int(checkpoint["count"])
        head = bytes.fromhex(checkpoint["head"])
    except (KeyError, TypeError, ValueError) as error:
        raise PackError(CHECKPOINT, f"not a checkpoint ({error!r})") from None
    for public, signature in pairs:
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
        except (InvalidSignature, ValueError):
            raise PackError(
                CHECKPOINT,
                f"the signature by key {key_id(public)} does not verify: the checkpoint was "
                "altered or forged",
            ) from None
    if checkpoint.get("key_id") != key_id(pairs[0][0]):
        raise PackError(CHECKPOINT, "its key_id is not its public key's")
    report.key_id = key_id(pairs[0][0])
    report.signers = [key_id(public) for public, _ in pairs]
    report.position = position

    # 3. the events and the chain segment
    try:
        if segment["format"] != SEGMENT_FORMAT:
            raise ValueError(f"unknown format {segment['format']!r}")
        project_id = str(uuid.UUID(segment["project_id"]))
        stream = uuid.UUID(project_id).bytes
        previous = bytes.fromhex(segment["previous_hash"])
        count_before = int(segment["count_before"])
        rows = segment["rows"]
        if len(previous) != 32 or not isinstance(rows, list) or not rows:
            raise ValueError("previous_hash is 32 bytes and rows a non-empty list")
    except (KeyError, TypeError, ValueError) as error:
        raise PackError(SEGMENT, f"not a chain segment ({error!r})") from None
    report.project_id = project_id
    events: list[tuple[int, str, bytes]] = []
    last_position = 0
    expected_version = 1
    for row in rows:
        try:
            row_position = int(row["p"])
            digest = bytes.fromhex(row["d"])
            own = "t" in row
            version = int(row["v"]) if own else 0
            topic = str(row["t"]) if own else ""
        except (KeyError, TypeError, ValueError) as error:
            raise PackError(SEGMENT, f"a row is unreadable ({error!r})") from None
        if row_position <= last_position or len(digest) != 32:
            raise PackError(SEGMENT, f"the row at position {row_position} is out of order")
        last_position = row_position
        if own:
            name = f"{EVENTS}{row_position}.json"
            if name not in files:
                raise PackError(SEGMENT, f"names the project's event {name}, not in the pack")
            state = files[name]
            if row_digest(row_position, stream, version, topic.encode(), state) != digest:
                raise PackError(
                    name,
                    f"the event at position {row_position} does not match its row digest in "
                    f"{SEGMENT}: its bytes, version or topic were changed",
                )
            if version != expected_version:
                raise PackError(
                    SEGMENT,
                    f"the project's events skip from version {expected_version - 1} to "
                    f"{version}: an event is missing",
                )
            expected_version += 1
            events.append((row_position, topic, state))
        else:
            report.foreign_rows += 1
        previous = link(previous, digest)
    own_files = {n for n in files if _EVENT_NAME.match(n)}
    if own_files != {f"{EVENTS}{p}.json" for p, _, _ in events}:
        extra = sorted(own_files - {f"{EVENTS}{p}.json" for p, _, _ in events})
        raise PackError(extra[0], "an event the chain segment does not list")
    if last_position != position:
        raise PackError(
            SEGMENT,
            f"ends at position {last_position}, not at the checkpoint's position {position}",
        )
    if previous != head:
        raise PackError(
            SEGMENT,
            f"the rows do not chain to the checkpoint's head (recomputed {previous.hex()[:16]}…, "
            f"signed {head.hex()[:16]}…): a row's digest was changed, or a row added or removed",
        )
    if count_before + len(rows) != count:
        raise PackError(
            SEGMENT,
            f"count_before {count_before} + {len(rows)} rows is not the checkpoint's count {count}",
        )
    report.events = len(events)

    # 4. the manifest, re-derived
    try:
        milestone_id = str(uuid.UUID(manifest["milestone"]["id"]))
        included = bool(manifest["artifacts_included"])
        derived = derive_manifest(project_id, milestone_id, events, checkpoint, included)
    except (KeyError, TypeError, ValueError) as error:
        raise PackError(MANIFEST, f"cannot be derived from the events ({error!r})") from None
    report.milestone_id = milestone_id
    for key in sorted(set(derived) | set(manifest)):
        if derived.get(key) != manifest.get(key):
            raise PackError(MANIFEST, f"its {key!r} is not what the events say")
    if derived["achievement"] is None:
        report.notes.append("the milestone is not achieved at the checkpoint")

    # 5. the artifacts
    for artifact in derived["artifacts"]:
        name = f"{ARTIFACTS}{artifact['sha256']}"
        if name not in files:
            if included:
                raise PackError(name, "missing from the pack")
            continue
        content = files[name]
        if hashlib.sha256(content).hexdigest() != artifact["sha256"]:
            raise PackError(name, "its bytes do not have the SHA-256 the evidence names")
        if len(content) != artifact["size"]:
            raise PackError(name, f"{len(content)} bytes, the evidence names {artifact['size']}")
        report.artifacts_checked += 1
    named = {f"{ARTIFACTS}{a['sha256']}" for a in derived["artifacts"]}
    for name in files:
        if _ARTIFACT_NAME.match(name) and name not in named:
            raise PackError(name, "an artifact no evidence names")

    # 6. the signatures: each recorded digest is that of what the events say was signed
    try:
        recomputed = signed_digests(events)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise PackError(SEGMENT, f"the events cannot be replayed ({error!r})") from None
    for at, recorded, again in recomputed:
        if recorded != again:
            raise PackError(
                f"{EVENTS}{at}.json",
                f"its signed_digest {recorded[:16]}… is not the digest of what the events say "
                f"was signed ({again[:16]}…)",
            )
    report.signatures_checked = len(recomputed)


def _trust(report: Report, public_keys: Sequence[bytes]) -> Report:
    signed_by = set(report.signers)
    trusted = {key_id(k) for k in public_keys}
    report.trusted = bool(signed_by & trusted)
    if not public_keys:
        report.notes.append("no public key given: the signer is not checked")
    return report


# --- the command line ------------------------------------------------------------------------


def describe(report: Report) -> str:
    if not report.ok:
        return f"BROKEN: {report.part}: {report.problem}"
    lines = [
        f"intact: milestone {report.milestone_id} of project {report.project_id}, "
        f"{report.events} events, {report.foreign_rows} other rows as digests, "
        f"{report.artifacts_checked} artifacts, {report.signatures_checked} signature digests, "
        f"checkpoint at position {report.position}",
    ]
    if report.trusted:
        lines.append(f"signed by trusted key {report.key_id}")
    else:
        lines.append(
            f"UNTRUSTED: the checkpoint was signed by key {report.key_id}, which is not among "
            "the public keys given"
        )
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines)


def read_public_key(text: str) -> bytes:
    """A public key given as base64 of its 32 raw bytes (`milestones keys public`)."""
    raw = base64.b64decode(text.strip(), validate=True)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return raw


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an evidence pack offline.")
    parser.add_argument("pack", type=Path)
    parser.add_argument("--public-key", action="append", default=[], metavar="KEY")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        data = args.pack.read_bytes()
        keys = [read_public_key(k) for k in args.public_key]
    except (OSError, ValueError) as error:
        print(f"cannot read: {error}", file=sys.stderr)
        return UNREADABLE
    report = verify_pack(data, keys)
    print(json.dumps(report.as_dict(), indent=2) if args.json else describe(report))
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
