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
from typing import Any, Protocol


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
        # Each helper's answer once received (by `check` or `join`), by process name.
        self._outcomes: dict[str, tuple[str, Any]] = {}
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

    def check(self) -> None:
        """ShareError now if a helper has already failed (or ended without an answer): the
        caller calls this between its own pages, so that one helper failing early ends the
        rebuild then, not once the caller has applied its whole share."""
        failures = []
        for process, receive in self._running:
            if process.name not in self._outcomes and receive.poll():  # an answer, or EOF
                self._outcomes[process.name] = _answer(receive)
            outcome, value = self._outcomes.get(process.name, ("running", None))
            if outcome == "failed":
                failures.append(f"{process.name}: {value}")
        if failures:
            raise ShareError("; ".join(failures))

    def join(self) -> int:
        """Wait for every helper; the notifications they read. ShareError if one failed."""
        read = 0
        failures = []
        for process, receive in self._running:
            if process.name not in self._outcomes:
                self._outcomes[process.name] = _answer(receive)
            outcome, value = self._outcomes[process.name]
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


def _answer(receive: Connection) -> tuple[str, Any]:
    """A helper's answer: ("done", notifications read) or ("failed", why); waits for it."""
    try:
        outcome, value = receive.recv()
    except EOFError:
        return "failed", "it ended without an answer"
    return str(outcome), value


def orphaned() -> bool:
    """Whether this is a helper whose rebuild process is gone (killed: its `finally` never ran).
    Such a helper stops at its next page rather than write into a later rebuild's shadows."""
    parent = multiprocessing.parent_process()
    return parent is not None and not parent.is_alive()
