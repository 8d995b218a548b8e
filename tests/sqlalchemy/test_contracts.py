"""The SQLAlchemy adapter passes the contract suites, on SQLite and on PostgreSQL alike.

The ``units_of_work`` fixture (see conftest) is parametrized by backend, so every case of
both suites runs on a SQLite file and on PostgreSQL, with no case skipped on either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tactical.testing import RepositoryContract, UnitOfWorkContract

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.sqlalchemy.conftest import BasketUnitOfWork


class TestSqlAlchemyRepository(RepositoryContract):
    @pytest.fixture
    def unit_of_work(
        self, units_of_work: Callable[[], BasketUnitOfWork]
    ) -> Callable[[], BasketUnitOfWork]:
        return units_of_work


class TestSqlAlchemyUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    def unit_of_work(
        self, units_of_work: Callable[[], BasketUnitOfWork]
    ) -> Callable[[], BasketUnitOfWork]:
        return units_of_work
