"""The NOTIFY payload of a views' commit: what a reader in another process may trust."""

from __future__ import annotations

from projections.watcher import PositionWatcher, parse


def test_a_payload_names_the_schema_the_position_and_the_views() -> None:
    assert parse("public 42 schedule projects", "public") == {"schedule": 42, "projects": 42}


def test_a_payload_of_another_schema_or_unreadable_announces_nothing() -> None:
    # Views of a test's or a rebuild's schema must not release readers of the live ones.
    assert parse("pages_1_ab12 42 schedule", "public") == {}
    assert parse("public x schedule", "public") == {}
    assert parse("", "public") == {}


def test_the_positions_heard_of_only_move_forwards() -> None:
    watcher = PositionWatcher(lambda: "", lambda: ("public", {}))
    watcher.note({"schedule": 10, "audit": 7})
    watcher.note({"schedule": 8})  # an older announcement, heard late

    assert watcher.reached(["schedule"], 10)
    assert not watcher.reached(["schedule", "audit"], 8)
    assert not watcher.reached(["projects"], 0)  # never heard of
    assert watcher.wait(["audit"], 7, timeout=0)
    assert not watcher.wait(["audit"], 8, timeout=0.01)
