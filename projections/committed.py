"""What one runner knows its views have committed, and which views its thread holds; one
condition wakes the readers waiting on either."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence


class Committed:
    """The views' committed positions as the runner last knew them (None: read them again from
    the tracking table), and the views its thread holds (`projections.claims`)."""

    def __init__(self, read: Callable[[], dict[str, int]]) -> None:
        """`read()` gives the views' positions from the tracking table."""
        self._read = read
        self._positions: dict[str, int] | None = None
        self._held: frozenset[str] = frozenset()
        self.changed = threading.Condition()

    @property
    def held(self) -> frozenset[str]:
        return self._held

    def known(self) -> dict[str, int]:
        """The positions, read from the table when not known."""
        if self._positions is None:
            positions = self._read()
            with self.changed:
                self._positions = positions
                self.changed.notify_all()
            return dict(positions)
        return dict(self._positions)

    def forget(self) -> None:
        """Read the positions from the table next time (another runner, or a rebuild's swap,
        may have moved them)."""
        with self.changed:
            self._positions = None

    def record(self, committed: Mapping[str, int]) -> None:
        """A page committed: its views are at these positions now; wake the readers."""
        with self.changed:
            if self._positions is not None:
                self._positions = {**self._positions, **committed}
            self.changed.notify_all()

    def hold(self, held: frozenset[str]) -> None:
        """The thread holds these views now (and no others)."""
        with self.changed:
            if held != self._held:
                # Another runner moved these views while we did not hold them.
                self._positions = None
            self._held = held
            self.changed.notify_all()

    def reached(self, names: Sequence[str], position: int) -> bool:
        positions = self._positions
        return positions is not None and all(positions[n] >= position for n in names)

    def wake(self) -> None:
        """Wake every reader, so that it looks again at what holds (the runner stopped)."""
        with self.changed:
            self.changed.notify_all()
