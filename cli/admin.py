"""The administrator's commands: `db upgrade`, `principal add`, `token create`, `token revoke`.

Creating a principal or a token acts as the record's owner, which the service's own role may
not: on `MILESTONES_OWNER_URL` when it is set, else on the service's login (which must then be
a member of the owner role, as a superuser is; if it is not, the command says so and exits 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from adapters.postgres.database import open_pool, resolve_database_url
from adapters.postgres.principals import PrincipalExistsError, Principals
from api.bootstrap import upgrade
from api.settings import Settings
from application.access import GlobalRole
from cli.wiring import open_container


def cmd_db_upgrade(_: argparse.Namespace, settings: Settings) -> int:
    url, embedded = resolve_database_url(settings)
    try:
        done = upgrade(settings.owner_url or url, settings)
    finally:
        if embedded is not None:
            embedded.stop()
    if done.applied:
        print(f"database upgraded to {done.head} ({len(done.applied)} migration(s) applied)")
    else:
        print(f"database is up to date (at {done.head})")
    return 0


@contextmanager
def _administered(settings: Settings) -> Iterator[Principals]:
    """The principals and tokens, reached by the login that may create them."""
    if settings.owner_url:
        pool = open_pool(settings.owner_url, settings)
        try:
            yield Principals(pool)
        finally:
            pool.close()
    else:
        with open_container(settings) as container:
            yield container.principals


def cmd_principal_add(args: argparse.Namespace, settings: Settings) -> int:
    role = GlobalRole(args.role)
    with _administered(settings) as principals:
        try:
            principal = principals.add(args.name, role)
        except PrincipalExistsError:
            # Idempotent for the same role, so a walk-through or a script can run again; a
            # different role is never changed silently.
            existing = principals.get(args.name)
            if existing is None:
                raise
            if existing.role != role:
                raise PrincipalExistsError(
                    f"principal {existing.name!r} exists already, as {existing.role} (not {role})"
                ) from None
            print(f"{existing.name} exists already ({existing.role})")
            return 0
    print(f"added {principal.name} ({principal.role})")
    return 0


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    with _administered(settings) as principals:
        print(principals.create_token(args.name))
    return 0


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    with open_container(settings) as container:
        revoked = container.principals.revoke_token(args.token)
    print("revoked" if revoked else "no such active token")
    return 0 if revoked else 1
