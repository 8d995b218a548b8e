"""The box office's units of work, in memory and on SQLite, hold to tactical's contracts."""

from __future__ import annotations

import functools
import itertools
from typing import TYPE_CHECKING, Any

import pytest
from boxoffice.database import SqlBoxOffice, clear_mappers, metadata, start_mappers
from boxoffice.model import Show, seating
from boxoffice.unit_of_work import FakeBoxOffice

from tactical import InMemoryStore
from tactical.sqlalchemy import create_engine, create_schema, create_session_factory
from tactical.testing import RepositoryContract, UnitOfWorkContract

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from boxoffice.unit_of_work import BoxOfficeUnitOfWork

_names = itertools.count()


class ShowHooks:
    """How the suites build, change and observe a `Show` instead of their sample aggregate."""

    def repository(self, uow: BoxOfficeUnitOfWork) -> Any:
        return uow.shows

    def new_aggregate(self, key: str) -> Show:
        show = Show(key, seating("ABCDEFGH", 20))
        show.reserve("first", "ada", 2)  # so that the show has a child entity to change
        show.events.clear()
        return show

    def key_of(self, aggregate: Show) -> str:
        return aggregate.show_id

    def change_root(self, aggregate: Show) -> None:
        aggregate.reserve(f"r{next(_names)}", "bob", 1)  # records SeatsReserved

    def change_child(self, aggregate: Show) -> None:
        aggregate.reservations["first"].customer = f"customer {next(_names)}"

    def observe(self, aggregate: Show) -> object:
        reservations = sorted(
            (r.reservation_id, r.customer, tuple(map(str, r.seats)))
            for r in aggregate.reservations.values()
        )
        return aggregate.show_id, [str(seat) for seat in aggregate.free], reservations


class TestShowRepository(ShowHooks, RepositoryContract):
    @pytest.fixture
    def unit_of_work(self) -> Callable[[], FakeBoxOffice]:
        return functools.partial(FakeBoxOffice, InMemoryStore())


class TestBoxOfficeUnitOfWork(ShowHooks, UnitOfWorkContract):
    @pytest.fixture
    def unit_of_work(self) -> Callable[[], FakeBoxOffice]:
        return functools.partial(FakeBoxOffice, InMemoryStore())


@pytest.fixture(scope="module")
def mapped() -> Iterator[None]:
    """The model mapped onto the tables while this module's database tests run."""
    start_mappers()
    yield
    clear_mappers()


@pytest.mark.usefixtures("mapped")
class OnSQLite:
    """The same hooks on the database: each test gets a SQLite file of its own."""

    @pytest.fixture
    def unit_of_work(self, tmp_path: Path) -> Iterator[Callable[[], SqlBoxOffice]]:
        engine = create_engine(f"sqlite:///{tmp_path / 'boxoffice.db'}")
        create_schema(engine, metadata)
        yield functools.partial(SqlBoxOffice, create_session_factory(engine))
        engine.dispose()


class TestShowRepositoryOnSQLite(ShowHooks, OnSQLite, RepositoryContract):
    pass


class TestBoxOfficeUnitOfWorkOnSQLite(ShowHooks, OnSQLite, UnitOfWorkContract):
    pass
