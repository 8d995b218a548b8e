"""The contract suites: collected only through a subclass, and able to fail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tactical.testing import RepositoryContract, UnitOfWorkContract

if TYPE_CHECKING:
    import pytest

QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
"""Inner runs need neither a cache nor Hypothesis's plugin (which takes a second to load)."""

CONTRACTS = [RepositoryContract, UnitOfWorkContract]

BROKEN_FAKES = '''
import copy
import contextlib

import pytest

from tactical import ConcurrencyError, InMemoryStore
from tactical.testing import RepositoryContract, UnitOfWorkContract
from tactical.testing.sample import Basket, InMemoryBasketUnitOfWork


class BookRepository:
    """The book's fake: a set of objects shared by everyone, written as soon as added."""

    def __init__(self, baskets, seen):
        self._baskets = baskets
        self.seen = seen

    def add(self, basket):
        self._baskets[basket.ref] = basket
        self.seen.append(basket)

    def get(self, ref):
        basket = self._baskets.get(ref)
        if basket is not None:
            self.seen.append(basket)
        return basket


class BookUnitOfWork:
    """The book's fake unit of work, which also bumps the versions of what it saw."""

    def __init__(self, baskets):
        self.seen = []
        self.baskets = BookRepository(baskets, self.seen)

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.rollback()

    def commit(self):
        for basket in set(self.seen):
            basket.version += 1

    def rollback(self):
        pass

    def collect_new_events(self):
        for basket in self.seen:
            while basket.events:
                yield basket.events.pop(0)


class SwallowsConflicts(InMemoryBasketUnitOfWork):
    def commit(self):
        with contextlib.suppress(ConcurrencyError):
            super().commit()


class CopyOnGet:
    def __init__(self, inner):
        self._inner = inner

    def add(self, basket):
        self._inner.add(basket)

    def get(self, ref):
        return copy.deepcopy(self._inner.get(ref))


class CopiesOnGet(InMemoryBasketUnitOfWork):
    @property
    def baskets(self):
        return CopyOnGet(self.repository(Basket))


class InventOnGet(CopyOnGet):
    def get(self, ref):
        return self._inner.get(ref) or Basket(ref)


class InventsBaskets(InMemoryBasketUnitOfWork):
    @property
    def baskets(self):
        return InventOnGet(self.repository(Basket))


class FirstOnGet(CopyOnGet):
    def __init__(self, inner, store):
        super().__init__(inner)
        self._store = store

    def get(self, ref):
        return self._inner.get(min(self._store.keys(Basket), default=ref))


class MixesUpKeys(InMemoryBasketUnitOfWork):
    @property
    def baskets(self):
        return FirstOnGet(self.repository(Basket), self.store)


class NewAtVersionZero(InMemoryBasketUnitOfWork):
    def commit(self):
        transaction = self._transaction
        new = [] if transaction is None else [
            entry.obj for entry in transaction.identity.values() if entry.base is None
        ]
        super().commit()
        for basket in new:
            basket.version = 0
            self.store._records[Basket][basket.ref].version = 0


def suites(name, make):
    class Fixture:
        @pytest.fixture
        def unit_of_work(self):
            return make()

    for contract in (RepositoryContract, UnitOfWorkContract):
        suite = type(f"Test{name}{contract.__name__}", (Fixture, contract), {})
        globals()[suite.__name__] = suite


def in_memory(cls):
    def make():
        store = InMemoryStore()
        return lambda: cls(store)
    return make


def book():
    baskets = {}
    return lambda: BookUnitOfWork(baskets)


suites("Book", book)
for cls in (SwallowsConflicts, CopiesOnGet, InventsBaskets, MixesUpKeys, NewAtVersionZero):
    suites(cls.__name__, in_memory(cls))
'''


def contract_cases() -> set[str]:
    """The test names (with parameters) of both suites, as they run on the in-memory fake."""
    return {
        f"{contract.__name__}::{name}"
        for contract in CONTRACTS
        for name in dir(contract)
        if name.startswith("test_")
    }


def test_the_contract_classes_are_not_collected_by_themselves(pytester: pytest.Pytester) -> None:
    """Importing the suites into a test module adds no test: only subclasses are collected."""
    pytester.makepyfile(
        "from tactical.testing import RepositoryContract, UnitOfWorkContract\n"
        "def test_alone():\n"
        "    pass\n"
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=1)


def test_a_subclass_runs_every_case(pytester: pytest.Pytester) -> None:
    """A subclass that names a unit-of-work factory runs every case of the suite, and passes."""
    pytester.makepyfile(
        """
        import pytest
        from tactical import InMemoryStore
        from tactical.testing import UnitOfWorkContract
        from tactical.testing.sample import InMemoryBasketUnitOfWork

        class TestFake(UnitOfWorkContract):
            @pytest.fixture
            def unit_of_work(self):
                store = InMemoryStore()
                return lambda: InMemoryBasketUnitOfWork(store)
        """
    )
    result = pytester.runpytest(*QUIET)
    cases = sum(1 for name in dir(UnitOfWorkContract) if name.startswith("test_"))
    result.assert_outcomes(passed=cases + 2)  # the first-commit-wins case runs three times


def test_a_subclass_that_overrides_nothing_says_which_fixture_to_override(
    pytester: pytest.Pytester,
) -> None:
    """Without the unit_of_work fixture, each case errors with what to override."""
    pytester.makepyfile(
        "from tactical.testing import RepositoryContract\n"
        "class TestForgotten(RepositoryContract):\n"
        "    pass\n"
    )
    result = pytester.runpytest(*QUIET)
    result.stdout.fnmatch_lines(["*TestForgotten must override the `unit_of_work` fixture*"])
    assert result.parseoutcomes()["errors"] > 0


def test_every_case_fails_for_some_broken_fake(pytester: pytest.Pytester) -> None:
    """The book's dict fake and five broken fakes, together, fail every case of the suites."""
    pytester.makepyfile(test_broken=BROKEN_FAKES)
    recorder = pytester.inline_run(*QUIET)
    failed = set()
    for report in recorder.getreports("pytest_runtest_logreport"):
        if report.failed:
            _, suite, case = report.nodeid.split("::")
            contract = next(c.__name__ for c in CONTRACTS if suite.endswith(c.__name__))
            failed.add(f"{contract}::{case.partition('[')[0]}")
    missing = sorted(contract_cases() - failed)
    assert not missing, "\n".join(missing)
