"""The trust commands: `verify`, `checkpoint create` and `keys public`.

`verify` exits 0 when the chain, its checkpoints and the derived records all hold; 1 when the
chain or a checkpoint is broken (or cannot be checked); 3 when the chain holds but a snapshot
or an as-of index row is forged or orphaned (docs/trust.md §8).
"""

from __future__ import annotations

import argparse
import json
import sys

from api.checkpoints import (
    CheckpointError,
    Checkpoints,
    SignedCheckpoint,
    load_or_create_key,
    parse_public_key,
    public_key_text,
    read_file,
    write_file,
)
from api.checkpoints.derived import DerivedCheck
from api.settings import Settings
from cli.wiring import open_container

# `milestones verify`: the chain holds, but a derived record does not.
EXIT_DERIVED_RECORDS = 3


def _progress(checked: int, position: int) -> None:
    print(f"checked {checked} events (up to position {position})", file=sys.stderr, flush=True)


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    try:
        kept: SignedCheckpoint | None = (
            None if args.checkpoint is None else read_file(args.checkpoint)
        )
        trusted = None if args.public_key is None else parse_public_key(args.public_key)
        with open_container(settings) as container:
            checkpoints = Checkpoints.of(container)
            result = checkpoints.verify(kept, trusted=trusted, progress=_progress)
            derived = checkpoints.check_derived(trusted)
    except CheckpointError as error:
        print(f"milestones verify: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({**result.as_dict(), "derived": derived.as_dict()}, indent=2))
    else:
        if result.ok:
            head = "none" if result.head is None else result.head.hex()
            print(
                f"intact: {result.events_checked} events, head {head} at position "
                f"{result.head_position}, {result.checkpoints_checked} checkpoint(s) found in "
                "the log"
            )
        else:
            print(f"BROKEN at position {result.first_broken_position}: {result.problem}")
        _print_derived(derived)
    if not result.ok:
        return 1
    return 0 if derived.ok else EXIT_DERIVED_RECORDS


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
    key = load_or_create_key(settings.signing_key_path)
    print(public_key_text(key.public_key()))
    return 0
