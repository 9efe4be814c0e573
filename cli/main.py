"""`milestones`: every command and option in one parser, and the entry point that runs them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from adapters.postgres.principals import PrincipalError
from api.logs import configure_logging
from api.preflight import StartupError
from api.settings import Settings, SettingsError
from application.access import GlobalRole
from cli.admin import cmd_db_upgrade, cmd_principal_add, cmd_token_create, cmd_token_revoke
from cli.demo import cmd_demo
from cli.serve import cmd_serve, cmd_worker
from cli.trust import (
    cmd_checkpoint_create,
    cmd_keys_create,
    cmd_keys_public,
    cmd_keys_rotate,
    cmd_verify,
)
from cli.views import cmd_projections_rebuild, cmd_projections_status

# What `milestones --help` says first.
DESCRIPTION = (
    "The `milestones` command line: serve, worker, db upgrade, principals, tokens, demo, views."
)

Command = Callable[[argparse.Namespace, Settings], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="milestones", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API and the projection workers")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="API processes (default MILESTONES_WORKERS, 1)")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("worker", help="run only the projection workers").set_defaults(func=cmd_worker)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="create or migrate every table").set_defaults(func=cmd_db_upgrade)

    principal = sub.add_parser("principal").add_subparsers(dest="principal", required=True)
    add = principal.add_parser("add", help="create a principal")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in GlobalRole], default="member")
    add.set_defaults(func=cmd_principal_add)

    token = sub.add_parser("token").add_subparsers(dest="token", required=True)
    create = token.add_parser("create", help="print a new bearer token for a principal")
    create.add_argument("name")
    create.set_defaults(func=cmd_token_create)
    revoke = token.add_parser("revoke", help="revoke a bearer token")
    revoke.add_argument("token")
    revoke.set_defaults(func=cmd_token_revoke)

    views = sub.add_parser("projections").add_subparsers(dest="projections", required=True)
    views.add_parser("status", help="position and lag of each view").set_defaults(
        func=cmd_projections_status
    )
    rebuild = views.add_parser("rebuild", help="rebuild a view from the events")
    target = rebuild.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?")
    target.add_argument("--all", action="store_true")
    rebuild.set_defaults(func=cmd_projections_rebuild)

    sub.add_parser("demo", help="load a demo project and print tokens").set_defaults(func=cmd_demo)
    _add_trust_commands(sub)
    return parser


def _add_trust_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = sub.add_parser(
        "verify", help="check the whole event log's tamper evidence; exit 0 only if intact"
    )
    verify.add_argument(
        "--checkpoint", type=Path, help="a checkpoint file kept by an auditor: the log must hold it"
    )
    verify.add_argument(
        "--public-key",
        action="append",
        help="a base64 Ed25519 public key the auditor trusts (repeatable; default: this "
        "service's own key)",
    )
    verify.add_argument(
        "--keyring",
        type=Path,
        action="append",
        help="a file of trusted public keys, one base64 key per line (repeatable)",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(func=cmd_verify)

    checkpoint = sub.add_parser("checkpoint", help="signed checkpoints of the log")
    actions = checkpoint.add_subparsers(dest="checkpoint", required=True)
    create = actions.add_parser("create", help="verify the log, then sign and store its head")
    create.add_argument("--out", type=Path, help="also write the checkpoint to this file")
    create.set_defaults(func=cmd_checkpoint_create)

    keys = sub.add_parser("keys", help="the deployment's signing key").add_subparsers(
        dest="keys", required=True
    )
    keys.add_parser("public", help="print the public key (base64)").set_defaults(
        func=cmd_keys_public
    )
    create_key = keys.add_parser("create", help="write a new signing key to a new file")
    create_key.add_argument("--out", type=Path, required=True, help="the new key's file")
    create_key.set_defaults(func=cmd_keys_create)
    rotate = keys.add_parser(
        "rotate", help="make a new key and sign a hand-over checkpoint with the old and the new"
    )
    rotate.add_argument("--out", type=Path, required=True, help="the new key's file")
    rotate.set_defaults(func=cmd_keys_rotate)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level, settings.log_format)
        func: Command = args.func
        return func(args, settings)
    except (SettingsError, PrincipalError, StartupError) as error:
        print(f"milestones: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
