"""The stateful test on real databases: the adapter does, step by step, what the fake does.

`tactical.testing.UnitOfWorkMachine` drives two units of work through random interleavings
(gets, root, child and collection changes, adds, commits, rollbacks, conflicts, events) and
checks every observation against the reference model that the in-memory fake also follows.
Each example starts from empty tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from tests.sqlalchemy.conftest import BasketUnitOfWork, empty

from tactical.sqlalchemy import create_session_factory
from tactical.testing import UnitOfWorkMachine

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine

THOROUGH = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def machine_on(engine: Engine) -> type[UnitOfWorkMachine]:
    """The machine, each example on ``engine``'s emptied tables."""
    sessions = create_session_factory(engine)

    class DatabaseMachine(UnitOfWorkMachine):
        def unit_of_work_factory(self) -> Callable[[], BasketUnitOfWork]:
            empty(engine)
            return lambda: BasketUnitOfWork(sessions)

    return DatabaseMachine


def test_sqlite_follows_the_model(sqlite_engine: Engine) -> None:
    """200 random interleavings of up to 30 steps on a SQLite file match the model."""
    run_state_machine_as_test(machine_on(sqlite_engine), settings=THOROUGH)


def test_postgresql_follows_the_model(postgres_engine: Engine) -> None:
    """200 random interleavings of up to 30 steps on PostgreSQL match the model."""
    run_state_machine_as_test(machine_on(postgres_engine), settings=THOROUGH)
