"""The trust commands of `milestones`: verify, checkpoint create, keys public."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path

from api.bootstrap import Container
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

Containers = Callable[[Settings], AbstractContextManager[Container]]


def _progress(checked: int, position: int) -> None:
    print(f"checked {checked} events (up to position {position})", file=sys.stderr, flush=True)


def cmd_verify(args: argparse.Namespace, settings: Settings, *, containers: Containers) -> int:
    try:
        kept: SignedCheckpoint | None = (
            None if args.checkpoint is None else read_file(args.checkpoint)
        )
        trusted = None if args.public_key is None else parse_public_key(args.public_key)
        with containers(settings) as container:
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


def cmd_checkpoint_create(
    args: argparse.Namespace, settings: Settings, *, containers: Containers
) -> int:
    try:
        with containers(settings) as container:
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


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], containers: Containers
) -> None:
    """Add the trust commands to the `milestones` parser."""
    verify = sub.add_parser(
        "verify", help="check the whole event log's tamper evidence; exit 0 only if intact"
    )
    verify.add_argument(
        "--checkpoint", type=Path, help="a checkpoint file kept by an auditor: the log must hold it"
    )
    verify.add_argument(
        "--public-key",
        help="base64 Ed25519 key the checkpoints must be signed with (default: this service's)",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(func=partial(cmd_verify, containers=containers))

    checkpoint = sub.add_parser("checkpoint", help="signed checkpoints of the log")
    actions = checkpoint.add_subparsers(dest="checkpoint", required=True)
    create = actions.add_parser("create", help="verify the log, then sign and store its head")
    create.add_argument("--out", type=Path, help="also write the checkpoint to this file")
    create.set_defaults(func=partial(cmd_checkpoint_create, containers=containers))

    keys = sub.add_parser("keys", help="the checkpoint signing key").add_subparsers(
        dest="keys", required=True
    )
    keys.add_parser("public", help="print the public key (base64)").set_defaults(
        func=cmd_keys_public
    )
