"""The `milestones` command line: serve, worker, db upgrade, principals, tokens, demo, views."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from api.bootstrap import Container, bootstrap, upgrade
from api.database import resolve_database_url
from api.principals import GlobalRole, PrincipalError
from api.settings import Settings, SettingsError

log = logging.getLogger("milestones")


@contextmanager
def _container(settings: Settings, *, migrate_embedded: bool = True) -> Iterator[Container]:
    """A wired process; with the embedded server it also migrates, since nobody else can."""
    url, embedded = resolve_database_url(settings)
    try:
        if embedded is not None and migrate_embedded:
            upgrade(url, settings)
        container = bootstrap(settings, url, embedded=embedded)
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    try:
        yield container
    finally:
        container.close()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app

    if args.workers != 1:
        print("--workers > 1 is not supported yet; run several `milestones serve`", file=sys.stderr)
        return 2
    with _container(settings) as container:
        app = create_app(container)
        host = args.host or settings.host
        port = args.port or settings.port
        log.info(
            "serving on http://%s:%s (database: %s)",
            host,
            port,
            "embedded" if container.embedded else "DATABASE_URL",
        )
        uvicorn.run(app, host=host, port=port, log_level="info")
    return 0


def cmd_worker(_: argparse.Namespace, settings: Settings) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with _container(settings) as container:
        container.runner.start()
        log.info("projection worker running")
        stop.wait()
    return 0


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
    with _container(settings) as container:
        principal = container.principals.add(args.name, GlobalRole(args.role))
    print(f"added {principal.name} ({principal.role})")
    return 0


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    with _container(settings) as container:
        print(container.principals.create_token(args.name))
    return 0


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    with _container(settings) as container:
        revoked = container.principals.revoke_token(args.token)
    print("revoked" if revoked else "no such active token")
    return 0 if revoked else 1


def cmd_projections_status(_: argparse.Namespace, settings: Settings) -> int:
    with _container(settings) as container:
        head = container.ledger.recorder.max_notification_id() or 0
        print(f"{'view':<12} {'position':>10} {'lag':>8}")
        for name, position in sorted(container.runner.positions().items()):
            print(f"{name:<12} {position:>10} {head - position:>8}")
    return 0


def cmd_projections_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    with _container(settings) as container:
        names = sorted(container.runner.positions()) if args.all else [args.name]
        for name in names:
            container.runner.rebuild(name)
        container.runner.catch_up()
        print(f"rebuilt {', '.join(names)}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from api.demo import load_demo

    with _container(settings) as container:
        container.runner.catch_up()
        load_demo(container, base_url=f"http://{settings.host}:{settings.port}", out=sys.stdout)
        container.runner.catch_up()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="milestones", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API and the projection workers")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        func: Callable[[argparse.Namespace, Settings], int] = args.func
        return func(args, settings)
    except (SettingsError, PrincipalError) as error:
        print(f"milestones: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
