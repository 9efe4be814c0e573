"""An API process's full garbage collections run on a timer, not whenever young objects survive
(`api.collector`): a full pass walks every cached project with the GIL held."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from api.collector import OUT_OF_REACH, Collector
from api.metrics import Metrics


class _Node:
    """A container the collector tracks, which can be made part of a cycle."""

    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture
def full_passes() -> Iterator[list[int]]:
    """The full passes the collector starts while the test runs, however started."""
    started: list[int] = []

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info["generation"] == 2:
            started.append(1)

    gc.callbacks.append(seen)
    try:
        yield started
    finally:
        gc.callbacks.remove(seen)


def _survivors() -> list[list[int]]:
    """Enough long-lived objects, made as a cache fills, that Python's own policy would start a
    full pass (their count passes a quarter of the oldest generation's) many times over."""
    return [[n] for n in range(len(gc.get_objects()) * 2 + 200_000)]


def test_python_s_own_policy_makes_full_passes_as_survivors_pile_up(
    full_passes: list[int],
) -> None:
    # The premise of the next test: without the timer, filling a cache makes full passes.
    # (Python's defaults set here: an app of another test may have its timer running.)
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        _survivors()
    finally:
        gc.set_threshold(*before)
    assert full_passes


def test_survivors_make_no_full_pass_while_the_timer_decides(full_passes: list[int]) -> None:
    collector = Collector(3600)
    collector.start()
    try:
        _survivors()
    finally:
        collector.stop()
    assert full_passes == []


def test_the_timer_s_pass_frees_a_cycle_the_young_passes_left_and_is_counted() -> None:
    collector = Collector(3600)
    collector.start()
    try:
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        gc.collect(1)  # the cycle survives two young passes: it is in the oldest generation
        gc.collect(1)
        del a, b
        gc.collect(1)
        assert gone() is not None  # a cycle in the oldest generation waits for a full pass
        freed = collector.full_pass()
        assert gone() is None
        assert freed >= 2
    finally:
        collector.stop()
    stats = collector.stats()
    assert stats.passes == 1
    assert stats.collected == freed
    assert 0 < stats.seconds_last <= stats.seconds_max


def test_python_s_thresholds_come_back_when_the_last_collector_stops() -> None:
    before = gc.get_threshold()
    first, second = Collector(3600), Collector(3600)
    first.start()
    second.start()
    assert gc.get_threshold()[2] == OUT_OF_REACH
    first.stop()
    assert gc.get_threshold()[2] == OUT_OF_REACH  # the second app still runs
    second.stop()
    assert gc.get_threshold() == before


def test_metrics_show_the_generations_and_the_timed_passes() -> None:
    metrics = Metrics()
    collector = Collector(3600)
    metrics.watch_collector(collector)
    collector.full_pass()
    text = metrics.render()[0].decode()
    assert 'milestones_gc_full_passes_total{pid="' in text
    passes = [line for line in text.splitlines() if line.startswith("milestones_gc_full_passes")]
    assert passes
    assert passes[0].endswith(" 1.0")
    assert 'generation="2"' in text
