"""The in-memory fakes pass the contract suites that every adapter must pass."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tactical import InMemoryStore
from tactical.testing import RepositoryContract, UnitOfWorkContract
from tactical.testing.sample import InMemoryBasketUnitOfWork

if TYPE_CHECKING:
    from collections.abc import Callable


class TestInMemoryRepository(RepositoryContract):
    @pytest.fixture
    def unit_of_work(self) -> Callable[[], InMemoryBasketUnitOfWork]:
        store = InMemoryStore()
        return lambda: InMemoryBasketUnitOfWork(store)


class TestInMemoryUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    def unit_of_work(self) -> Callable[[], InMemoryBasketUnitOfWork]:
        store = InMemoryStore()
        return lambda: InMemoryBasketUnitOfWork(store)
