"""The administrator's commands: `db upgrade`, `principal add`, `token create`, `token list`,
`token revoke`.

Creating a principal or a token acts as the record's owner, which the service's own role may
not: on `MILESTONES_OWNER_URL` when it is set, else on the service's login (which must then be
a member of the owner role, as a superuser is; if it is not, the command says so and exits 2).
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from adapters.postgres.database import open_pool, resolve_database_url
from adapters.postgres.principals import PrincipalExistsError, Principals, TokenRecord, TokenScope
from adapters.postgres.signatures import Signatures
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


def cmd_principal_set_password(args: argparse.Namespace, settings: Settings) -> int:
    """R23: set a principal's signing password (read from stdin, else asked twice at a
    terminal) and, with --display-name, its printed name."""
    if sys.stdin.isatty():
        password = getpass.getpass(f"signing password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            print("the two passwords differ; nothing was set", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    with _administered(settings) as principals:
        signatures = Signatures(principals.pool, principals, settings.signing_lock_seconds)
        if args.display_name is not None:
            signatures.set_display_name(args.name, args.display_name)
        signatures.set_password(args.name, password)
    print(f"signing password set for {args.name}")
    return 0


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


_LIFETIME = re.compile(r"^([1-9][0-9]{0,5})([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def lifetime(text: str) -> timedelta:
    """`--expires`: a whole number of days, hours or minutes (`30d`, `12h`, `90m`)."""
    match = _LIFETIME.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r}: write a lifetime such as 30d, 12h or 90m")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    expires = None if args.expires is None else datetime.now(UTC) + args.expires
    projects = None if args.project is None else frozenset(args.project)
    scope = TokenScope(projects=projects, read_only=args.read_only, expires_at=expires)
    with _administered(settings) as principals:
        print(principals.create_token(args.name, scope))
    return 0


def cmd_token_list(args: argparse.Namespace, settings: Settings) -> int:
    with open_container(settings) as container:
        records = container.principals.list_tokens(args.name)
    print("id\tprincipal\tprojects\taccess\texpires\tstate")
    now = datetime.now(UTC)
    for record in records:
        print("\t".join(_token_line(record, now)))
    return 0


def _token_line(record: TokenRecord, now: datetime) -> list[str]:
    scope = record.scope
    projects = "all" if scope.projects is None else ",".join(sorted(map(str, scope.projects)))
    expires = "never" if scope.expires_at is None else scope.expires_at.isoformat()
    access = "read-only" if scope.read_only else "read-write"
    return [record.id, record.principal, projects, access, expires, record.state(now)]


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    with open_container(settings) as container:
        revoked = container.principals.revoke_token(args.token)
    print("revoked" if revoked else "no such active token")
    return 0 if revoked else 1
