"""The size of each reliability check: bounded (CI, a shared 2-core machine) and the issue's own.

One table, so the README and the closing note can quote it and a reader sees at once what a
quick run proves and what only the long run does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["off", "ci", "quick", "long"]
LEVELS: tuple[Level, ...] = ("off", "ci", "quick", "long")


@dataclass(frozen=True)
class Sizes:
    # 1. competing writes: rounds of 10 commands with the same If-Match
    competing_rounds: int
    competing_clients: int
    # 2. concurrent writers without If-Match: clients × commands each, on one project
    writers: int
    commands_per_writer: int
    # 3. no skipped events: two writers × events each; commands committed behind a held write
    events_per_writer: int
    behind_held_write: int
    held_seconds: float
    # 4. idempotent retry: one key sent in sequence, another at once
    sequential_retries: int
    concurrent_retries: int
    # 5. projection crash: events written while the worker is SIGKILLed this many times
    projection_events: int
    worker_kills: int
    # 6. API crash: commands sent by the clients while the API is SIGKILLed this many times
    api_commands: int
    api_kills: int
    api_clients: int
    # 7. database crash: immediate stops under load
    database_stops: int
    # 8. backup and restore: lifecycles loaded before the dump
    restore_units: int
    # 9. hostile input: schemathesis examples per operation (stateless) and stateful steps
    examples_per_operation: int
    stateful_examples: int
    # 10. soak: seconds of mixed load at half the measured write rate
    soak_seconds: float


QUICK = Sizes(
    competing_rounds=40,
    competing_clients=10,
    writers=10,
    commands_per_writer=20,
    events_per_writer=300,
    behind_held_write=100,
    held_seconds=5.0,
    sequential_retries=100,
    concurrent_retries=20,
    projection_events=5_000,
    worker_kills=5,
    api_commands=600,
    api_kills=3,
    api_clients=4,
    database_stops=2,
    restore_units=20,
    examples_per_operation=10,
    stateful_examples=10,
    soak_seconds=60,
)

LONG = Sizes(
    competing_rounds=200,
    competing_clients=10,
    writers=10,
    commands_per_writer=100,
    events_per_writer=1_000,
    behind_held_write=100,
    held_seconds=5.0,
    sequential_retries=100,
    concurrent_retries=20,
    projection_events=50_000,
    worker_kills=20,
    api_commands=5_000,
    api_kills=10,
    api_clients=8,
    database_stops=5,
    restore_units=200,
    examples_per_operation=500,
    stateful_examples=200,
    soak_seconds=600,
)


def sizes_for(level: Level) -> Sizes:
    return LONG if level == "long" else QUICK
