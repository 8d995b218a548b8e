"""The box office's unit of work holds to tactical's contracts."""

from __future__ import annotations

import functools
import itertools
from typing import TYPE_CHECKING, Any

import pytest
from boxoffice.model import Show, seating
from boxoffice.unit_of_work import FakeBoxOffice

from tactical import InMemoryStore
from tactical.testing import RepositoryContract, UnitOfWorkContract

if TYPE_CHECKING:
    from collections.abc import Callable

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
