"""`milestones`: every command and option in one parser, and the entry point that runs them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from uuid import UUID

from adapters.postgres.principals import PrincipalError
from api.logs import configure_logging
from api.preflight import StartupError
from api.settings import Settings, SettingsError
from application.access import GlobalRole
from cli.admin import (
    cmd_db_upgrade,
    cmd_principal_add,
    cmd_principal_set_password,
    cmd_token_create,
    cmd_token_list,
    cmd_token_revoke,
    lifetime,
)
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

EPILOG = (
    "Each command reads its settings from MILESTONES_* environment variables and DATABASE_URL "
    "(the README's Configuration table); with no DATABASE_URL it uses the embedded PostgreSQL "
    "in MILESTONES_DATA_DIR. `milestones COMMAND --help` tells more."
)
PRINCIPALS = (
    "A principal is a person or a system with a global role; project roles are given per "
    "project through the API (POST /v1/projects/{pid}/members)."
)
# The views `projections rebuild` knows (projections.all_views), named without importing them.
VIEW_NAMES = ("schedule", "projects", "audit")

Command = Callable[[argparse.Namespace, Settings], int]


def _version() -> str:
    try:
        return metadata.version("milestone-ledger")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


# The long-running processes, whose logs go to a collector.
SERVICES: tuple[Command, ...] = (cmd_serve, cmd_worker)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="milestones", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the API and the projection workers")
    serve.add_argument("--host", help="address to listen on (default MILESTONES_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default MILESTONES_PORT, 8000)")
    serve.add_argument("--workers", type=int, help="API processes (default MILESTONES_WORKERS, 1)")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("worker", help="run only the projection workers").set_defaults(func=cmd_worker)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="create or migrate every table").set_defaults(func=cmd_db_upgrade)

    principal = sub.add_parser(
        "principal", help="people and systems that may call the API", description=PRINCIPALS
    ).add_subparsers(dest="principal", required=True)
    add = principal.add_parser("add", help="create a principal")
    add.add_argument("name", help="a name of letters, digits, '.', '_' or '-'")
    add.add_argument(
        "--role",
        choices=[r.value for r in GlobalRole],
        default="member",
        help="admin: everything; auditor: reads every project, writes nothing; member: what "
        "its project roles allow (default: member)",
    )
    add.set_defaults(func=cmd_principal_add)
    password = principal.add_parser(
        "set-password",
        help="set a principal's signing password (from stdin, or asked at a terminal)",
    )
    password.add_argument("name", help="the principal who will sign with it")
    password.add_argument(
        "--display-name",
        help="the printed name shown beside the principal's signatures (R23)",
    )
    password.set_defaults(func=cmd_principal_set_password)

    token = sub.add_parser(
        "token", help="bearer tokens (only their sha256 is stored)"
    ).add_subparsers(dest="token", required=True)
    create = token.add_parser("create", help="print a new bearer token for a principal")
    create.add_argument("name", help="the principal the token acts as")
    create.add_argument(
        "--project",
        action="append",
        type=UUID,
        metavar="PID",
        help="reach only this project (repeat for more); others answer 404",
    )
    create.add_argument("--read-only", action="store_true", help="reads only; commands get 403")
    create.add_argument(
        "--expires", type=lifetime, metavar="DURATION", help="e.g. 30d, 12h, 90m; then 401"
    )
    create.set_defaults(func=cmd_token_create)
    listing = token.add_parser("list", help="tokens with their scope and expiry (never secrets)")
    listing.add_argument("name", nargs="?", help="only this principal's tokens")
    listing.set_defaults(func=cmd_token_list)
    revoke = token.add_parser("revoke", help="revoke a bearer token")
    revoke.add_argument("token", help="the token itself, as `token create` printed it")
    revoke.set_defaults(func=cmd_token_revoke)

    views = sub.add_parser(
        "projections", help="the views built from the events: status and rebuilds"
    ).add_subparsers(dest="projections", required=True)
    views.add_parser("status", help="position and lag of each view").set_defaults(
        func=cmd_projections_status
    )
    rebuild = views.add_parser("rebuild", help="rebuild a view from the events")
    target = rebuild.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?", choices=VIEW_NAMES, help="the view to rebuild")
    target.add_argument("--all", action="store_true", help="rebuild every view")
    rebuild.set_defaults(func=cmd_projections_rebuild)

    demo = sub.add_parser(
        "demo",
        help="load the demo project once and print export lines with a token per person",
    )
    demo.add_argument(
        "--again", action="store_true", help="load another copy even if one is loaded"
    )
    demo.add_argument(
        "--url",
        help="the service's address to print (default: http://MILESTONES_HOST:MILESTONES_PORT)",
    )
    demo.set_defaults(func=cmd_demo)
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
    verify.add_argument(
        "--pack",
        type=Path,
        metavar="FILE",
        help="check an evidence pack offline instead (no database, no network; "
        "auditor/verify_pack.py): trusted only under a --public-key or --keyring key",
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
        func: Command = args.func
        log_format = settings.log_format
        if log_format == "auto" and func not in SERVICES:
            # A person runs these (or a script that reads their stdout): plain lines; the
            # service's processes log JSON for a collector unless on a terminal.
            log_format = "text"
        configure_logging(settings.log_level, log_format)
        return func(args, settings)
    except (SettingsError, PrincipalError, StartupError) as error:
        print(f"milestones: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
