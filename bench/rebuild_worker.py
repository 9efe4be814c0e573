"""Rebuilds every view once, in its own process, and prints events, seconds and peak RSS."""

from __future__ import annotations

import json
import resource
import sys
import time

from api.bootstrap import bootstrap
from api.settings import Settings


def main(database_url: str) -> None:
    # The URI already names the application role; bootstrap takes it as given.
    container = bootstrap(Settings(pool_size=2, pool_max_overflow=2), database_url)
    try:
        runner = container.runner
        events = runner.head()
        started = time.perf_counter()
        for name in runner.names:
            runner.rebuild(name)
        seconds = time.perf_counter() - started
    finally:
        container.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    print(json.dumps({"events": events, "seconds": seconds, "rss": rss, "views": runner.names}))


if __name__ == "__main__":
    main(sys.argv[1])
