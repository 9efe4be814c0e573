"""Past states kept in memory (`application.past`): a kept state answers the same as a rebuild,
each read gets its own copy, later versions replay from the nearest kept state within reach, and
the cache stays within its byte budget."""

from __future__ import annotations

import copy
from collections.abc import Iterable

from application.cache import footprint
from application.past import REPLAY_LIMIT, PastStates
from domain.events import ProjectEvent
from domain.project import Project
from tests.unit.helpers import new_events

MANAGER = "manager"


class Store:
    """A project's events, and how often the cache had to go to them."""

    def __init__(self, deliverables: int = 60) -> None:
        project = Project.create(name="Past", actor=MANAGER)
        phase = project.add_phase("Build", actor=MANAGER)
        for n in range(deliverables):
            did = project.define_deliverable(title=f"D{n}", phase_id=phase, actor=MANAGER)
            project.update_deliverable(did, title=f"D{n} renamed", actor=MANAGER)
        self.events: list[ProjectEvent] = new_events(project)
        self.project_id = project.id
        self.loads: list[int] = []
        self.replayed = 0

    def rebuilt(self, version: int) -> Project:
        """The project at `version`, replayed from its first event (what the store would give)."""
        state: Project | None = None
        for event in self.events[:version]:
            state = event.mutate(state)
        assert state is not None
        return state

    def load(self, version: int) -> Project:
        self.loads.append(version)
        return self.rebuilt(version)

    def after(self, version: int, limit: int) -> Iterable[ProjectEvent]:
        self.replayed += limit
        return self.events[version : version + limit]


def _read(past: PastStates, store: Store, version: int) -> Project:
    return past.state_at(store.project_id, version, store.load, store.after)


def test_a_kept_state_answers_again_without_the_store_and_as_the_store_would() -> None:
    store, past = Store(), PastStates()
    first = _read(past, store, 50)
    again = _read(past, store, 50)
    assert store.loads == [50]
    assert again == first == store.rebuilt(50)
    assert again is not first


def test_each_read_gets_its_own_copy() -> None:
    store, past = Store(), PastStates()
    mine = _read(past, store, 30)
    key = next(iter(mine.deliverables))
    mine.deliverable_to_change(key).title = "changed by a caller"
    assert _read(past, store, 30).deliverables[key].title != "changed by a caller"


def test_a_later_version_replays_from_the_nearest_kept_state() -> None:
    store, past = Store(), PastStates()
    _read(past, store, 20)
    _read(past, store, 60)
    later = _read(past, store, 90)
    assert store.loads == [20]  # 60 from 20, 90 from 60
    assert store.replayed == 40 + 30
    assert later == store.rebuilt(90)
    assert _read(past, store, 10) == store.rebuilt(10)  # none kept below it: from the store
    assert store.loads == [20, 10]


def test_a_version_beyond_reach_of_a_kept_state_is_loaded() -> None:
    store, past = Store(), PastStates()
    _read(past, store, 5)
    _read(past, store, 5 + REPLAY_LIMIT + 1)
    assert store.loads == [5, 5 + REPLAY_LIMIT + 1]


def test_the_least_recently_read_states_go_first_when_over_the_budget() -> None:
    store = Store()
    size = footprint(store.rebuilt(100))
    past = PastStates(budget=int(size * 2.5))
    for version in (100, 101, 102):  # about the same size: room for two
        _read(past, store, version)
    assert len(past) == 2
    assert past.bytes <= past.budget
    _read(past, store, 101)  # kept
    _read(past, store, 100)  # gone: replayed from nothing below it, so loaded
    assert store.loads == [100, 100]


def test_the_kept_state_is_not_changed_by_replays_from_it() -> None:
    store, past = Store(), PastStates()
    _read(past, store, 40)
    kept = copy.deepcopy(store.rebuilt(40))
    _read(past, store, 120)  # replays 80 events, renaming deliverables, from the state at 40
    assert _read(past, store, 40) == kept
