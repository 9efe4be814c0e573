"""`milestones demo`: loads the demo project (`cli.demo_project`) into the configured database,
once: run again, it says the project exists and prints new tokens for its people (the earlier
ones keep working); `--again` loads another copy."""

from __future__ import annotations

import argparse
import sys

from api.settings import Settings
from cli.wiring import open_container


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from cli.demo_project import PROJECT_NAME, find_demo, load_demo, make_tokens, print_access

    base_url = args.url or f"http://{settings.host}:{settings.port}"
    with open_container(settings) as container:
        container.runner.catch_up()
        existing = None if args.again else find_demo(container)
        if existing is None:
            load_demo(container, base_url=base_url, out=sys.stdout)
        else:
            print(
                f"The demo project {PROJECT_NAME} ({existing}) is loaded already "
                "(`milestones demo --again` loads another copy). New tokens for its people; "
                "the earlier ones keep working."
            )
            print_access(sys.stdout, existing, make_tokens(container), base_url)
        container.runner.catch_up()
    return 0
