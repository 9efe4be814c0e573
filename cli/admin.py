"""The administrator's commands: `db upgrade`, `principal add`, `token create`, `token revoke`."""

from __future__ import annotations

import argparse

from adapters.postgres.database import resolve_database_url
from api.bootstrap import upgrade
from api.settings import Settings
from application.access import GlobalRole
from cli.wiring import open_container


def cmd_db_upgrade(_: argparse.Namespace, settings: Settings) -> int:
    url, embedded = resolve_database_url(settings)
    try:
        upgrade(settings.owner_url or url, settings)
    finally:
        if embedded is not None:
            embedded.stop()
    print("database is up to date")
    return 0


def cmd_principal_add(args: argparse.Namespace, settings: Settings) -> int:
    with open_container(settings) as container:
        principal = container.principals.add(args.name, GlobalRole(args.role))
    print(f"added {principal.name} ({principal.role})")
    return 0


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    with open_container(settings) as container:
        print(container.principals.create_token(args.name))
    return 0


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    with open_container(settings) as container:
        revoked = container.principals.revoke_token(args.token)
    print("revoked" if revoked else "no such active token")
    return 0 if revoked else 1
