"""The stateful test: the in-memory fake follows the reference model, and broken fakes do not."""

from __future__ import annotations

import contextlib
from functools import partial
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from tactical import ConcurrencyError, InMemoryStore
from tactical.testing import UnitOfWorkMachine, unit_of_work_machine
from tactical.testing.sample import Basket, InMemoryBasketUnitOfWork

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tactical import Event

THOROUGH = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Looking for a bug in a broken fake: deterministic, no shrinking, no saved examples.
HUNTING = settings(
    THOROUGH,
    derandomize=True,
    database=None,
    phases=[Phase.generate],
    report_multiple_bugs=False,
)


def in_memory() -> partial[InMemoryBasketUnitOfWork]:
    return partial(InMemoryBasketUnitOfWork, InMemoryStore())


def test_the_in_memory_unit_of_work_follows_the_model() -> None:
    """200 random interleavings of two units of work, up to 30 steps each, match the model."""
    run_state_machine_as_test(unit_of_work_machine(in_memory), settings=THOROUGH)


class SwallowsConflicts(InMemoryBasketUnitOfWork):
    """A conflicting commit writes nothing and says nothing."""

    def commit(self) -> None:
        with contextlib.suppress(ConcurrencyError):
            super().commit()


class IgnoresRollback(InMemoryBasketUnitOfWork):
    """rollback() keeps the changes (leaving the block still discards them)."""

    def rollback(self) -> None:
        pass


class RepeatsEvents(InMemoryBasketUnitOfWork):
    """collect_new_events() returns the same events again and again."""

    def collect_new_events(self) -> Sequence[Event]:
        return list(self._events)


class _SharedBaskets:
    """A repository that hands out the committed objects themselves: no private copies."""

    def __init__(self, uow: InMemoryBasketUnitOfWork) -> None:
        self._uow = uow

    def add(self, basket: Basket, /) -> None:
        self._uow.repository(Basket).add(basket)

    def get(self, ref: str, /) -> Basket | None:
        shared: Basket | None = self._uow.store._read(Basket, ref)
        return shared if shared is not None else self._uow.repository(Basket).get(ref)


class SharesObjects(InMemoryBasketUnitOfWork):
    """Every transaction changes the committed objects in place."""

    @property
    def baskets(self) -> _SharedBaskets:  # type: ignore[override]
        return _SharedBaskets(self)


@pytest.mark.parametrize(
    "broken", [SwallowsConflicts, IgnoresRollback, RepeatsEvents, SharesObjects]
)
def test_the_machine_catches_a_broken_unit_of_work(
    broken: type[InMemoryBasketUnitOfWork],
) -> None:
    """Each broken fake fails the machine: the model's checks can fail."""
    machine = unit_of_work_machine(lambda: partial(broken, InMemoryStore()))
    with pytest.raises((AssertionError, ConcurrencyError)):
        run_state_machine_as_test(machine, settings=HUNTING)


def test_a_machine_without_a_factory_says_what_to_override() -> None:
    """The base machine, not told how to make units of work, names the method to override."""
    with pytest.raises(NotImplementedError, match="unit_of_work_factory"):
        UnitOfWorkMachine()


def test_unit_of_work_machine_makes_a_named_subclass() -> None:
    """unit_of_work_machine() builds a UnitOfWorkMachine subclass with the name given."""
    machine = unit_of_work_machine(in_memory, name="InMemoryMachine")
    assert issubclass(machine, UnitOfWorkMachine)
    assert machine.__name__ == "InMemoryMachine"
