"""A rebuild in several processes: the projects are split into shares, and each share of the log
is applied to the shadow tables by its own process.

Every row of every view belongs to one project (the audit trail's rows to their event's), and a
view folds a project's events only with that project's rows, so processes applying different
projects' events never touch the same row and each sees its projects' events in position
order: the shadows end as one process would leave them. One process per core, since a rebuild
is Python work per event (docs/performance.md, "`rebuild`").

The helpers are spawned (not forked: the parent holds a pool of connections and threads) and
build their own container with `OpenFiller`, a picklable callable the composition root gives.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Protocol


class ShareError(RuntimeError):
    """A helper process failed to apply its share (the shadows are left for the next rebuild)."""


class Filler(Protocol):
    def fill_share(self, names: Sequence[str], share: int, shares: int, until: int) -> int:
        """Apply the share's events up to `until` to the named views' shadows; how many
        notifications it read."""


# Opens a process's container (its pool, its store) for the views; closes it when done.
OpenFiller = Callable[[], AbstractContextManager[Filler]]


def _fill(
    open_filler: OpenFiller,
    names: Sequence[str],
    share: int,
    shares: int,
    until: int,
    answer: Connection,
) -> None:
    """What a helper process runs: its share, then what it read (or why it failed) on `answer`."""
    try:
        with open_filler() as filler:
            read = filler.fill_share(names, share, shares, until)
    except BaseException as error:
        answer.send(("failed", f"{type(error).__name__}: {error}"))
        raise
    answer.send(("done", read))


class Helpers:
    """The processes applying shares 1 … shares-1 (the caller applies share 0 itself)."""

    def __init__(
        self, open_filler: OpenFiller, names: Sequence[str], shares: int, until: int
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._running: list[tuple[BaseProcess, Connection]] = []
        try:
            for share in range(1, shares):
                receive, send = context.Pipe(duplex=False)
                process = context.Process(
                    target=_fill,
                    args=(open_filler, list(names), share, shares, until, send),
                    name=f"rebuild-share-{share}",
                    daemon=True,
                )
                process.start()
                send.close()  # the child's end: EOF here once the child is gone
                self._running.append((process, receive))
        except BaseException:
            self.stop()
            raise

    def join(self) -> int:
        """Wait for every helper; the notifications they read. ShareError if one failed."""
        read = 0
        failures = []
        for process, receive in self._running:
            try:
                outcome, value = receive.recv()
            except EOFError:
                outcome, value = "failed", "it ended without an answer"
            process.join()
            if outcome == "done":
                read += int(value)
            else:
                failures.append(f"{process.name}: {value} (exit code {process.exitcode})")
        if failures:
            raise ShareError("; ".join(failures))
        return read

    def stop(self) -> None:
        """End the helpers still running (the caller failed or was interrupted)."""
        for process, receive in self._running:
            if process.is_alive():
                process.terminate()
            process.join()
            receive.close()
        self._running = []


def orphaned() -> bool:
    """Whether this is a helper whose rebuild process is gone (killed: its `finally` never ran).
    Such a helper stops at its next page rather than write into a later rebuild's shadows."""
    parent = multiprocessing.parent_process()
    return parent is not None and not parent.is_alive()
