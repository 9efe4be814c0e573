"""`milestones demo`: loads the demo project (`cli.demo_project`) into the configured database."""

from __future__ import annotations

import argparse
import sys

from api.settings import Settings
from cli.wiring import open_container


def cmd_demo(_: argparse.Namespace, settings: Settings) -> int:
    from cli.demo_project import load_demo

    with open_container(settings) as container:
        container.runner.catch_up()
        load_demo(container, base_url=f"http://{settings.host}:{settings.port}", out=sys.stdout)
        container.runner.catch_up()
    return 0
