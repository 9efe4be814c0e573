"""The trust commands: `verify`, `checkpoint create`, and `keys public | create | rotate`.

`verify` answers two questions apart: is the chain intact, and who signed each checkpoint. Its
exit codes (docs/trust.md §4), the first that applies:

- 0: the chain is intact, every checkpoint is signed by a trusted (or rotated) key, and the
  derived records hold;
- 1: BROKEN: the chain does not hold, or a checkpoint's signature does not verify;
- 2: nothing was checked: a checkpoint file, keyring or key cannot be read (or bad usage);
- 3: the chain holds, but a snapshot or an as-of index row is forged or orphaned (§8);
- 4: the chain holds, but a checkpoint is signed by a key outside the keyring (untrusted).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from adapters.signing import KeySource, key_id, raw_public, write_new_key
from api.checkpoints import (
    Audit,
    CheckpointError,
    Checkpoints,
    SignedCheckpoint,
    load_key,
    parse_public_key,
    public_key_text,
    read_file,
    read_keyring,
    write_file,
)
from api.checkpoints.derived import DerivedCheck
from api.settings import Settings
from auditor import verify_pack
from cli.wiring import open_container

EXIT_BROKEN = 1
EXIT_UNREADABLE = 2
# `milestones verify`: the chain holds, but a derived record does not.
EXIT_DERIVED_RECORDS = 3
# `milestones verify`: the chain holds, but a checkpoint's key is not in the keyring.
EXIT_UNTRUSTED = 4


def _progress(checked: int, position: int) -> None:
    print(f"checked {checked} events (up to position {position})", file=sys.stderr, flush=True)


def _keyring(args: argparse.Namespace) -> list[Ed25519PublicKey]:
    keys = [parse_public_key(text) for text in args.public_key or ()]
    for path in args.keyring or ():
        keys.extend(read_keyring(path))
    return keys


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    if args.pack is not None:
        return _verify_pack(args)
    try:
        kept: SignedCheckpoint | None = (
            None if args.checkpoint is None else read_file(args.checkpoint)
        )
        keyring = _keyring(args)
    except CheckpointError as error:
        print(f"milestones verify: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        with open_container(settings) as container:
            checkpoints = Checkpoints.of(container)
            audit = checkpoints.audit(kept, keyring=keyring, progress=_progress)
            derived = checkpoints.check_derived(keyring or None)
    except CheckpointError as error:
        # The auditor's own checkpoint file does not verify: a forged or altered file.
        print(f"BROKEN: {error}")
        return EXIT_BROKEN
    if args.json:
        print(json.dumps({**audit.as_dict(), "derived": derived.as_dict()}, indent=2))
    else:
        _print_audit(audit)
        _print_derived(derived)
    if not audit.chain.ok:
        return EXIT_BROKEN
    if not derived.ok:
        return EXIT_DERIVED_RECORDS
    return EXIT_UNTRUSTED if audit.untrusted else 0


def _verify_pack(args: argparse.Namespace) -> int:
    """`verify --pack FILE`: the offline verifier, with the keys given; no database."""
    try:
        keys = [raw_public(k) for k in _keyring(args)]
        data = args.pack.read_bytes()
    except (CheckpointError, OSError) as error:
        print(f"milestones verify: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    report = verify_pack.verify_pack(data, keys)
    print(json.dumps(report.as_dict(), indent=2) if args.json else verify_pack.describe(report))
    return report.exit_code


def _print_audit(audit: Audit) -> None:
    result = audit.chain
    if result.ok:
        head = "none" if result.head is None else result.head.hex()
        print(
            f"intact: {result.events_checked} events, head {head} at position "
            f"{result.head_position}, {result.checkpoints_checked} checkpoint(s) found in the log"
        )
    else:
        print(f"BROKEN at position {result.first_broken_position}: {result.problem}")
    ring = ", ".join(audit.keyring) or "empty: no key given and this process has none"
    print(f"keyring: {ring}")
    for signer in audit.signers:
        where = f"positions {signer.first_position}..{signer.last_position}"
        hand_overs = f", {signer.hand_overs} hand-over(s)" if signer.hand_overs else ""
        if signer.standing == "retired":
            print(
                f"UNTRUSTED: key {signer.key_id} signed checkpoints after it handed over "
                f"({where}{hand_overs}): a process not restarted with the new key, or a key "
                "that is no longer the deployment's alone"
            )
        elif signer.standing == "unknown":
            print(
                f"UNTRUSTED: {signer.checkpoints} checkpoint(s) signed by key {signer.key_id}, "
                f"which is not in the keyring ({where}{hand_overs})"
            )
        else:
            print(
                f"signed by {signer.standing} key {signer.key_id}: {signer.checkpoints} "
                f"checkpoint(s) ({where}{hand_overs})"
            )


def _print_derived(derived: DerivedCheck) -> None:
    checked = (
        f"{derived.snapshots_checked} snapshot(s) ({derived.snapshots_unsigned} unsigned from "
        f"before, matching their events), {derived.as_of_rows_checked} unconfirmed as-of index "
        "row(s)"
    )
    if derived.ok:
        print(f"derived records hold: {checked}")
        return
    print(f"DERIVED RECORDS DO NOT HOLD: {len(derived.findings)} of {checked}")
    for finding in derived.as_dict()["findings"]:
        where = "no event" if finding["position"] is None else f"position {finding['position']}"
        print(
            f"  {finding['problem']} {finding['record']} of project {finding['project_id']} "
            f"version {finding['version']} ({where}): {finding['detail']}"
        )


def cmd_checkpoint_create(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with open_container(settings) as container:
            checkpoint = Checkpoints.of(container).create(progress=_progress)
    except CheckpointError as error:
        print(f"milestones checkpoint create: {error}", file=sys.stderr)
        return 1
    if checkpoint is None:
        print("the log is empty: nothing to sign", file=sys.stderr)
        return 1
    if args.out is not None:
        write_file(args.out, checkpoint)
        print(f"checkpoint at position {checkpoint.position} written to {args.out}")
    else:
        print(json.dumps(checkpoint.to_json(), indent=2))
    return 0


def cmd_keys_public(_: argparse.Namespace, settings: Settings) -> int:
    try:
        key = load_key(settings.signing_key_source)
    except CheckpointError as error:
        print(f"milestones keys public: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    print(f"key id {key_id(key.public_key())}", file=sys.stderr)
    print(public_key_text(key.public_key()))
    return 0


def _new_key_file(path: Path, command: str) -> int | None:
    if write_new_key(path) is None:
        print(f"milestones keys {command}: {path} exists; it is never overwritten", file=sys.stderr)
        return EXIT_UNREADABLE
    return None


def cmd_keys_create(args: argparse.Namespace, _: Settings) -> int:
    """A new key in a new file (owner-only): the deployment's one key, given to every process."""
    if (failed := _new_key_file(args.out, "create")) is not None:
        return failed
    key = load_key_file(args.out)
    print(f"new signing key {key_id(key.public_key())} written to {args.out}", file=sys.stderr)
    print(public_key_text(key.public_key()))
    return 0


def load_key_file(path: Path) -> Ed25519PrivateKey:
    return load_key(KeySource(path=path))


def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    """A new key in `--out`, and a hand-over checkpoint of the current head signed by the
    current key and the new one. The processes keep signing with the old key until they are
    given the new one (MILESTONES_SIGNING_KEY) and restarted; an auditor who trusts either key
    sees the other as `rotated`."""
    if (failed := _new_key_file(args.out, "rotate")) is not None:
        return failed
    new_key = load_key_file(args.out)
    try:
        with open_container(settings) as container:
            checkpoints = Checkpoints.of(container)
            old = checkpoints.key
            hand_over = checkpoints.hand_over(new_key, progress=_progress)
    except CheckpointError as error:
        args.out.unlink()  # no hand-over, no new key: nothing half done
        print(f"milestones keys rotate: {error}", file=sys.stderr)
        return 1
    if hand_over is None:
        args.out.unlink()
        print("milestones keys rotate: the log is empty: nothing to hand over", file=sys.stderr)
        return 1
    print(
        f"hand-over checkpoint at position {hand_over.position}: key {key_id(old.public_key())} "
        f"-> key {hand_over.key_id}. Give every process the new key (MILESTONES_SIGNING_KEY="
        f"{args.out}) and restart them; auditors add this public key to their keyring:",
        file=sys.stderr,
    )
    print(public_key_text(new_key.public_key()))
    return 0
