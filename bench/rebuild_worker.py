"""Rebuilds every view once, in its own process, printing its progress as JSON lines.

Each line: the views done, the position the current view has reached, the log's head, the
seconds so far and the peak RSS so far (VmHWM), so a parent that stops it at a deadline still
knows how far it got and how much memory it needed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from api.bootstrap import bootstrap
from api.settings import Settings

# Print progress at most this often (seconds).
EVERY = 1.0


def peak_rss() -> int:
    """This process's peak resident set size in bytes (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def main(database_url: str) -> None:
    container = bootstrap(Settings(pool_size=2, pool_max_overflow=2), database_url)
    try:
        runner = container.runner
        head = runner.head()
        started = time.perf_counter()
        last = 0.0

        def report(done: int, position: int, final: bool = False) -> None:
            line = {
                "views": len(runner.names),
                "done": done,
                "position": position,
                "head": head,
                "seconds": time.perf_counter() - started,
                "rss": peak_rss(),
                "final": final,
            }
            print(json.dumps(line), flush=True)

        # The audit trail first: the audit metric reads it on the big log afterwards, even when
        # the deadline stops the rebuild before the other views are done.
        names = sorted(runner.names, key=lambda name: name != "audit")
        for done, name in enumerate(names):

            def progress(position: int, _: int, done: int = done) -> None:
                nonlocal last
                if time.perf_counter() - last >= EVERY:
                    last = time.perf_counter()
                    report(done, position)

            runner.rebuild(name, progress=progress)
        report(len(runner.names), 0, final=True)
    finally:
        container.close()


if __name__ == "__main__":
    main(sys.argv[1])
