"""The trust commands: `verify`, `checkpoint create` and `keys public`."""

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
from api.settings import Settings
from cli.wiring import open_container


def _progress(checked: int, position: int) -> None:
    print(f"checked {checked} events (up to position {position})", file=sys.stderr, flush=True)


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    try:
        kept: SignedCheckpoint | None = (
            None if args.checkpoint is None else read_file(args.checkpoint)
        )
        trusted = None if args.public_key is None else parse_public_key(args.public_key)
        with open_container(settings) as container:
            result = Checkpoints.of(container).verify(kept, trusted=trusted, progress=_progress)
    except CheckpointError as error:
        print(f"milestones verify: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    elif result.ok:
        head = "none" if result.head is None else result.head.hex()
        print(
            f"intact: {result.events_checked} events, head {head} at position "
            f"{result.head_position}, {result.checkpoints_checked} checkpoint(s) found in the log"
        )
    else:
        print(f"BROKEN at position {result.first_broken_position}: {result.problem}")
    return 0 if result.ok else 1


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
