"""A progress bar on stderr for long CLI jobs: position, events/s and the time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30
# Off a terminal (a log file, CI) a line every this many seconds, rather than a redrawn bar.
PLAIN_EVERY = 2.0


class ProgressBar:
    """Called with (position, head) after each page; `finish()` prints the summary line."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self.position = 0
        self.head = 0
        self._last_plain = 0.0

    def __call__(self, position: int, head: int) -> None:
        self.position, self.head = position, head
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self._line(now))
            self.stream.flush()
        elif now - self._last_plain >= PLAIN_EVERY:
            self._last_plain = now
            self.stream.write(self._line(now) + "\n")
            self.stream.flush()

    def rate(self, now: float | None = None) -> float:
        elapsed = (now or time.monotonic()) - self.started
        return self.position / elapsed if elapsed > 0 else 0.0

    def _line(self, now: float) -> str:
        done = self.position / self.head if self.head else 1.0
        filled = int(WIDTH * done)
        rate = self.rate(now)
        left = (self.head - self.position) / rate if rate > 0 else 0.0
        bar = "#" * filled + "-" * (WIDTH - filled)
        return (
            f"{self.label:<10} [{bar}] {done:6.1%} {self.position:>10,}/{self.head:,}"
            f"  {rate:>9,.0f} events/s  ETA {_duration(left)}"
        )

    def finish(self, events: int) -> str:
        """Close the bar; returns the summary (events read, seconds, events/s)."""
        elapsed = time.monotonic() - self.started
        rate = events / elapsed if elapsed > 0 else 0.0
        summary = f"{self.label}: {events:,} events in {elapsed:.1f} s = {rate:,.0f} events/s"
        if self.tty:
            self.stream.write("\r" + self._line(time.monotonic()) + "\n")
        self.stream.write(summary + "\n")
        self.stream.flush()
        return summary


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
