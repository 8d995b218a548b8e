"""Contract suites: what every repository and unit of work must do, as pytest classes.

Subclass a suite in a test module (the subclass's name starts with ``Test``) and override one
fixture, ``unit_of_work``: it returns a factory of fresh units of work that share one store or
database, empty for each test. The suites run on the sample `Basket` by default; override the
hook methods to run them on an aggregate of your own.

The cases hold for the in-memory fakes and for database adapters alike: they observe only what
a caller can observe (states and versions read through a unit of work, exceptions, events),
never how a particular adapter stores things.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tactical._exceptions import ConcurrencyError, TransactionError
from tactical.testing._hooks import Hooks

if TYPE_CHECKING:
    from tactical.testing._hooks import Factory

__all__ = ["RepositoryContract", "UnitOfWorkContract"]


class _BoomError(Exception):
    """Raised inside a `with` block to check that it rolls back and propagates."""


class RepositoryContract(Hooks):
    """The behaviour of a repository: add, get, identity within a transaction, duplicates.

    Override the ``unit_of_work`` fixture; override the hooks (`repository`, `new_aggregate`,
    `key_of`, `change_root`, `change_child`, `observe`, `version_of`) to test a repository of
    your own aggregate instead of the sample `Basket`.

    Example:
        >>> import pytest
        >>> from tactical import InMemoryStore
        >>> from tactical.testing.sample import InMemoryBasketUnitOfWork
        >>> class TestInMemoryBaskets(RepositoryContract):
        ...     @pytest.fixture
        ...     def unit_of_work(self):
        ...         store = InMemoryStore()
        ...         return lambda: InMemoryBasketUnitOfWork(store)
    """

    def test_get_of_a_missing_key_returns_none(self, unit_of_work: Factory) -> None:
        """get() of a key that was never added returns None."""
        missing = self.key_of(self.new_aggregate("missing"))
        with unit_of_work() as uow:
            assert self.repository(uow).get(missing) is None

    def test_an_added_aggregate_is_stored_on_commit(self, unit_of_work: Factory) -> None:
        """An aggregate added and committed is read back equal, at version 1, by a new uow."""
        key, state = self.seed(unit_of_work)
        assert self.stored(unit_of_work, key) == (state, 1)

    def test_get_returns_an_aggregate_added_in_the_same_transaction(
        self, unit_of_work: Factory
    ) -> None:
        """get() in the transaction that added an aggregate returns that aggregate."""
        aggregate = self.new_aggregate("b-1")
        with unit_of_work() as uow:
            self.repository(uow).add(aggregate)
            assert self.repository(uow).get(self.key_of(aggregate)) is aggregate

    def test_an_added_aggregate_is_invisible_until_committed(self, unit_of_work: Factory) -> None:
        """An added aggregate is seen by no other uow before commit, and is gone without it."""
        aggregate = self.new_aggregate("b-1")
        key = self.key_of(aggregate)
        with unit_of_work() as uow:
            self.repository(uow).add(aggregate)
            assert self.stored(unit_of_work, key) is None
        assert self.stored(unit_of_work, key) is None

    def test_get_twice_in_one_transaction_returns_the_same_object(
        self, unit_of_work: Factory
    ) -> None:
        """get() of one key twice in one transaction returns the very same object."""
        key, _ = self.seed(unit_of_work)
        with unit_of_work() as uow:
            first = self.repository(uow).get(key)
            assert first is not None
            assert self.repository(uow).get(key) is first

    def test_changes_to_the_root_and_its_children_are_stored(self, unit_of_work: Factory) -> None:
        """Root and child changes that are committed are read back by a new uow."""
        key, _ = self.seed(unit_of_work)
        with unit_of_work() as uow:
            aggregate = self.repository(uow).get(key)
            self.change_root(aggregate)
            self.change_child(aggregate)
            state = self.observe(aggregate)
            uow.commit()
        assert self.stored(unit_of_work, key) == (state, 2)

    def test_aggregates_are_stored_apart(self, unit_of_work: Factory) -> None:
        """Changing one aggregate leaves another one as it was."""
        key, _ = self.seed(unit_of_work, "b-1")
        other, other_state = self.seed(unit_of_work, "b-2")
        with unit_of_work() as uow:
            aggregate = self.repository(uow).get(key)
            self.change_root(aggregate)
            self.change_child(aggregate)
            uow.commit()
        assert self.stored(unit_of_work, other) == (other_state, 1)

    def test_adding_a_committed_key_raises_concurrency_error(self, unit_of_work: Factory) -> None:
        """Adding an aggregate whose key exists raises ConcurrencyError (at add or commit)."""
        key, state = self.seed(unit_of_work)
        duplicate = self.new_aggregate("b-1")
        self.change_root(duplicate)
        with unit_of_work() as uow, pytest.raises(ConcurrencyError):  # noqa: PT012 - add or commit
            self.repository(uow).add(duplicate)
            uow.commit()
        assert self.stored(unit_of_work, key) == (state, 1)

    @pytest.mark.parametrize("second_adds", ["before the first commits", "after it commits"])
    def test_the_second_of_two_units_of_work_adding_one_key_fails(
        self, unit_of_work: Factory, second_adds: str
    ) -> None:
        """Two uows add the same new key: the first commit wins, the second raises."""
        first, second = self.new_aggregate("b-1"), self.new_aggregate("b-1")
        self.change_root(second)
        key, state = self.key_of(first), self.observe(first)
        with unit_of_work() as a, unit_of_work() as b:
            self.repository(a).add(first)
            if second_adds == "before the first commits":
                self.repository(b).add(second)
                a.commit()
                with pytest.raises(ConcurrencyError):
                    b.commit()
            else:
                a.commit()
                with pytest.raises(ConcurrencyError):  # noqa: PT012 - at add or at commit
                    self.repository(b).add(second)
                    b.commit()
        assert self.stored(unit_of_work, key) == (state, 1)


class _Transactions(Hooks):
    """Isolation and rollback: nothing is written or seen before commit."""

    def test_another_unit_of_work_does_not_see_uncommitted_changes(
        self, unit_of_work: Factory
    ) -> None:
        """A second uow reads the committed state, not another uow's pending changes."""
        key, state = self.seed(unit_of_work)
        with unit_of_work() as a, unit_of_work() as b:
            changed = self.repository(a).get(key)
            self.change_root(changed)
            self.change_child(changed)
            seen = self.repository(b).get(key)
            assert (self.observe(seen), self.version_of(seen)) == (state, 1)
        assert self.stored(unit_of_work, key) == (state, 1)

    def test_rollback_discards_root_and_child_changes(self, unit_of_work: Factory) -> None:
        """rollback() discards root and child changes, for this uow and for any other."""
        key, state = self.seed(unit_of_work)
        with unit_of_work() as uow:
            aggregate = self.repository(uow).get(key)
            self.change_root(aggregate)
            self.change_child(aggregate)
            uow.rollback()
            again = self.repository(uow).get(key)
            assert (self.observe(again), self.version_of(again)) == (state, 1)
            uow.commit()
        assert self.stored(unit_of_work, key) == (state, 1)

    def test_leaving_the_block_without_commit_rolls_back(self, unit_of_work: Factory) -> None:
        """Changes not committed when the block is left are discarded."""
        key, state = self.seed(unit_of_work)
        with unit_of_work() as uow:
            aggregate = self.repository(uow).get(key)
            self.change_root(aggregate)
            self.change_child(aggregate)
        assert self.stored(unit_of_work, key) == (state, 1)

    def test_changes_after_the_last_commit_are_rolled_back(self, unit_of_work: Factory) -> None:
        """What was committed stays; what changed after the last commit is discarded."""
        key, _ = self.seed(unit_of_work)
        with unit_of_work() as uow:
            aggregate = self.repository(uow).get(key)
            self.change_root(aggregate)
            state = self.observe(aggregate)
            uow.commit()
            self.change_root(aggregate)
            self.change_child(aggregate)
        assert self.stored(unit_of_work, key) == (state, 2)

    def test_an_exception_in_the_block_rolls_back_and_propagates(
        self, unit_of_work: Factory
    ) -> None:
        """An exception leaving the block discards the changes and reaches the caller."""
        key, state = self.seed(unit_of_work)

        def fail_inside_the_block() -> None:
            with unit_of_work() as uow:
                aggregate = self.repository(uow).get(key)
                self.change_root(aggregate)
                self.change_child(aggregate)
                raise _BoomError

        with pytest.raises(_BoomError):
            fail_inside_the_block()
        assert self.stored(unit_of_work, key) == (state, 1)

    def test_commit_outside_the_block_raises_transaction_error(self, unit_of_work: Factory) -> None:
        """commit() before the block is entered, or after it is left, raises TransactionError."""
        uow = unit_of_work()
        with pytest.raises(TransactionError):
            uow.commit()
        with uow:
            pass
        with pytest.raises(TransactionError):
            uow.commit()

    def test_several_commits_in_one_block(self, unit_of_work: Factory) -> None:
        """Each commit in one block writes what changed since the one before it."""
        aggregate = self.new_aggregate("b-1")
        key = self.key_of(aggregate)
        with unit_of_work() as uow:
            self.repository(uow).add(aggregate)
            uow.commit()
            self.change_root(aggregate)
            uow.commit()
            self.change_child(aggregate)
            uow.commit()
            state = self.observe(aggregate)
        assert self.stored(unit_of_work, key) == (state, 3)

    def test_a_unit_of_work_can_be_entered_again(self, unit_of_work: Factory) -> None:
        """Entering a uow again after leaving it opens a fresh transaction."""
        aggregate = self.new_aggregate("b-1")
        key, state = self.key_of(aggregate), self.observe(aggregate)
        uow = unit_of_work()
        with uow:
            self.repository(uow).add(aggregate)
            uow.commit()
        with uow:
            self.change_root(self.repository(uow).get(key))
        with uow:
            again = self.repository(uow).get(key)
            assert (self.observe(again), self.version_of(again)) == (state, 1)
            self.change_child(again)
            state = self.observe(again)
            uow.commit()
        assert self.stored(unit_of_work, key) == (state, 2)


class _Versions(Hooks):
    """The version counter: +1 per committed change, optimistic concurrency, first wins."""

    def test_commit_of_a_root_change_bumps_the_version_by_one(self, unit_of_work: Factory) -> None:
        """Committing a change to the root bumps the version by exactly 1."""
        key, _ = self.seed(unit_of_work)
        with unit_of_work() as uow:
            aggregate = self.repository(uow).get(key)
            self.change_root(aggregate)
            state = self.observe(aggregate)
            uow.commit()
        assert self.stored(unit_of_work, key) == (state, 2)

    def test_commit_of_a_child_only_change_bumps_the_version_by_one(
        self, unit_of_work: Factory
    ) -> None:
        """Committing a change to a child object only bumps the root's version by 1 too."""
        key, _ = self.seed(unit_of_work)
        with unit_of_work() as uow:
            aggregate = self.repository(uow).get(key)
            self.change_child(aggregate)
            state = self.observe(aggregate)
            uow.commit()
        assert self.stored(unit_of_work, key) == (state, 2)

    def test_commit_sets_the_version_of_the_committed_aggregate(
        self, unit_of_work: Factory
    ) -> None:
        """After commit, the aggregate in hand carries its new version."""
        aggregate = self.new_aggregate("b-1")
        with unit_of_work() as uow:
            self.repository(uow).add(aggregate)
            uow.commit()
            versions = [self.version_of(aggregate)]
            self.change_root(aggregate)
            uow.commit()
            versions.append(self.version_of(aggregate))
        assert versions == [1, 2]

    def test_a_read_only_unit_of_work_never_bumps_the_version(self, unit_of_work: Factory) -> None:
        """Committing a uow that only read an aggregate leaves its version alone."""
        key, state = self.seed(unit_of_work)
        with unit_of_work() as uow:
            assert self.observe(self.repository(uow).get(key)) == state
            uow.commit()
        assert self.stored(unit_of_work, key) == (state, 1)

    def test_a_read_only_unit_of_work_never_conflicts(self, unit_of_work: Factory) -> None:
        """A uow that only read an aggregate commits even after another uow changed it."""
        key, _ = self.seed(unit_of_work)
        with unit_of_work() as reader:
            self.observe(self.repository(reader).get(key))
            with unit_of_work() as writer:
                aggregate = self.repository(writer).get(key)
                self.change_root(aggregate)
                self.change_child(aggregate)
                state = self.observe(aggregate)
                writer.commit()
            reader.commit()
        assert self.stored(unit_of_work, key) == (state, 2)

    @pytest.mark.parametrize(
        ("first", "second"), [("root", "root"), ("child", "child"), ("root", "child")]
    )
    def test_the_first_commit_wins(self, unit_of_work: Factory, first: str, second: str) -> None:
        """Two uows change one aggregate: the first commit wins, the second raises."""
        key, _ = self.seed(unit_of_work)
        with unit_of_work() as a, unit_of_work() as b:
            mine, theirs = self.repository(a).get(key), self.repository(b).get(key)
            self.change(first, mine)
            self.change(second, theirs)
            state = self.observe(mine)
            a.commit()
            with pytest.raises(ConcurrencyError):
                b.commit()
        assert self.stored(unit_of_work, key) == (state, 2)

    def test_nothing_of_the_losing_unit_of_work_is_visible(self, unit_of_work: Factory) -> None:
        """A commit that raises ConcurrencyError writes nothing and delivers no event."""
        key, _ = self.seed(unit_of_work)
        extra = self.new_aggregate("b-2")
        with unit_of_work() as a, unit_of_work() as b:
            self.repository(b).add(extra)
            theirs = self.repository(b).get(key)
            self.recorded(self.change_root, theirs)
            self.change_child(theirs)
            mine = self.repository(a).get(key)
            self.change_root(mine)
            state = self.observe(mine)
            a.commit()
            with pytest.raises(ConcurrencyError):
                b.commit()
        assert self.stored(unit_of_work, key) == (state, 2)
        assert self.stored(unit_of_work, self.key_of(extra)) is None
        assert list(b.collect_new_events()) == []


class _Events(Hooks):
    """Events: collected once after commit, never from work that was rolled back."""

    def test_committed_events_are_collected_once(self, unit_of_work: Factory) -> None:
        """collect_new_events() returns the committed events, then nothing."""
        key, _ = self.seed(unit_of_work)
        with unit_of_work() as uow:
            events = self.recorded(self.change_root, self.repository(uow).get(key))
            assert list(uow.collect_new_events()) == []
            uow.commit()
            assert list(uow.collect_new_events()) == events
            assert list(uow.collect_new_events()) == []

    def test_committed_events_are_collected_after_the_block(self, unit_of_work: Factory) -> None:
        """Events committed in the block are still collected after it is left (the bus does)."""
        key, _ = self.seed(unit_of_work)
        uow = unit_of_work()
        with uow:
            events = self.recorded(self.change_root, self.repository(uow).get(key))
            uow.commit()
        assert list(uow.collect_new_events()) == events

    def test_rolled_back_events_are_never_collected(self, unit_of_work: Factory) -> None:
        """Events recorded by work that was rolled back are discarded with it."""
        key, _ = self.seed(unit_of_work)
        uow = unit_of_work()
        with uow:
            self.recorded(self.change_root, self.repository(uow).get(key))
            uow.rollback()
            events = self.recorded(self.change_root, self.repository(uow).get(key))
            uow.commit()
        with uow:
            self.recorded(self.change_root, self.repository(uow).get(key))
        assert list(uow.collect_new_events()) == events


class UnitOfWorkContract(_Transactions, _Versions, _Events):
    """The behaviour of a unit of work: atomic commit, rollback, isolation, versions, events.

    Override the ``unit_of_work`` fixture; override the hooks (`repository`, `new_aggregate`,
    `key_of`, `change_root`, `change_child`, `observe`, `version_of`) to run the suite on an
    aggregate of your own instead of the sample `Basket`. Pending changes must be written at
    `commit()` (not when a repository is called), as the cases open two units of work at once
    in one thread.

    Example:
        >>> import pytest
        >>> from tactical import InMemoryStore
        >>> from tactical.testing.sample import InMemoryBasketUnitOfWork
        >>> class TestInMemoryUnitOfWork(UnitOfWorkContract):
        ...     @pytest.fixture
        ...     def unit_of_work(self):
        ...         store = InMemoryStore()
        ...         return lambda: InMemoryBasketUnitOfWork(store)
    """
