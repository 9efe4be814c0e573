"""Rebuilds every view once, in its own process, printing its progress as JSON lines.

The views are rebuilt together (`ProjectionRunner.rebuild_all`), one pass over the log. Each
line: the passes done (0 or 1) out of "views" (1), the position reached, the log's head, the
seconds so far and the peak RSS so far (VmHWM, with the rebuild's helper processes'), so a
parent that stops it at a deadline still knows how far it got and how much memory it needed.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import sys
import time
from pathlib import Path

from api.bootstrap import bootstrap
from api.settings import Settings

# Print progress at most this often (seconds).
EVERY = 1.0


def peak_rss(pid: int | str = "self") -> int:
    """A process's peak resident set size in bytes (VmHWM); 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


# The peak RSS of each helper process of the rebuild (`projections.shares`), seen while alive.
_helpers: dict[int, int] = {}


def peak_rss_with_helpers() -> int:
    """This process's peak RSS plus each helper's: the memory the rebuild needed at most.

    A helper seen only while starting (a small log: one page here) is counted at least at the
    peak of the largest helper that ended (`RUSAGE_CHILDREN`): exact with one helper, an upper
    bound with several.
    """
    for child in multiprocessing.active_children():
        if child.pid is not None:
            _helpers[child.pid] = max(_helpers.get(child.pid, 0), peak_rss(child.pid))
    ended = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    return peak_rss() + sum(max(seen, ended) for seen in _helpers.values())


def main(database_url: str) -> None:
    container = bootstrap(Settings(pool_size=2, pool_max_overflow=2), database_url)
    try:
        runner = container.runner
        head = runner.head()
        started = time.perf_counter()
        last = 0.0

        def report(done: int, position: int, final: bool = False) -> None:
            line = {
                "views": 1,  # passes over the log: one for all the views
                "done": done,
                "position": position,
                "head": head,
                "seconds": time.perf_counter() - started,
                "rss": peak_rss_with_helpers(),
                "final": final,
            }
            print(json.dumps(line), flush=True)

        # Every view at once (`rebuild_all`): each page of the log is read and decoded once
        # for all of them, so the progress is one pass over the log ("views": 1 below).
        def progress(position: int, _: int) -> None:
            nonlocal last
            if time.perf_counter() - last >= EVERY:
                last = time.perf_counter()
                report(0, position)

        runner.rebuild_all(progress=progress)
        report(1, 0, final=True)
    finally:
        container.close()


if __name__ == "__main__":
    main(sys.argv[1])
