"""A stateful test of units of work: random interleavings checked against a reference model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from tactical._exceptions import ConcurrencyError, TransactionError
from tactical.testing._model import Model, Tracked, Transaction, by_aggregate
from tactical.testing.sample import Basket, Item

if TYPE_CHECKING:
    from collections.abc import Callable

    from tactical.testing.sample import BasketUnitOfWork

__all__ = ["UnitOfWorkMachine", "unit_of_work_machine"]

_REFS = st.sampled_from(("b-1", "b-2", "b-3", "b-4"))
_SKUS = st.sampled_from(("s-1", "s-2"))
_NOTES = st.sampled_from(("", "x", "y"))
_QTYS = st.integers(min_value=1, max_value=3)
_LINES = st.dictionaries(_SKUS, _QTYS, max_size=2)


class UnitOfWorkMachine(RuleBasedStateMachine):
    """Random interleavings of two units of work, checked against a simple reference model.

    Two units of work, A and B, are opened (a new one, or the same object entered again),
    closed, and used to add, get and change sample [`Basket`][tactical.testing.sample.Basket]s
    (root, child and collection changes), commit, roll back and collect events, in any order;
    a third one reads what is committed. The model (committed states and versions, each
    transaction's pending state, events, the conflicts to expect) says what every call must
    return or raise: read committed, an identity map per transaction, first committer wins,
    no version bump without a change, atomic commits, events only from committed work.

    Subclass it and override `unit_of_work_factory` (called once per example: return a
    factory of units of work over a fresh, empty store), or use `unit_of_work_machine`. Run
    it with its ``TestCase`` or `hypothesis.stateful.run_state_machine_as_test`. Adapters
    run the very same machine, so they are held to what the in-memory fake does.

    Example:
        >>> from functools import partial
        >>> from hypothesis import settings
        >>> from hypothesis.stateful import run_state_machine_as_test
        >>> from tactical import InMemoryStore
        >>> from tactical.testing.sample import InMemoryBasketUnitOfWork
        >>> class InMemoryMachine(UnitOfWorkMachine):
        ...     def unit_of_work_factory(self):
        ...         return partial(InMemoryBasketUnitOfWork, InMemoryStore())
        >>> run_state_machine_as_test(InMemoryMachine, settings=settings(max_examples=5))
    """

    def __init__(self) -> None:
        super().__init__()
        self.new_unit_of_work = self.unit_of_work_factory()
        self.model = Model()
        self.transactions = {name: Transaction(name) for name in ("A", "B")}

    def unit_of_work_factory(self) -> Callable[[], BasketUnitOfWork]:
        """Override: a factory of units of work sharing one fresh, empty store."""
        raise NotImplementedError(
            f"{type(self).__qualname__} must override unit_of_work_factory(), "
            "or be made by unit_of_work_machine()"
        )

    def teardown(self) -> None:
        """Leave the blocks still open; extend it to dispose of the store."""
        for transaction in self.transactions.values():
            if transaction.open:
                self._leave(transaction)

    @initialize(baskets=st.dictionaries(_REFS, st.tuples(_NOTES, _LINES), min_size=2))
    def seed(self, baskets: dict[str, tuple[str, dict[str, int]]]) -> None:
        """Commit a few baskets, then open A and B: the steps start with work to do."""
        with self.new_unit_of_work() as uow:
            for ref, (note, lines) in baskets.items():
                basket = Basket(ref, note, [Item(sku, qty) for sku, qty in lines.items()])
                uow.baskets.add(basket)
                self.model.committed[ref] = ((note, tuple(sorted(lines.items()))), 1)
            uow.commit()
        for transaction in self.transactions.values():
            self._enter(transaction, self.new_unit_of_work())

    def _pick(self, data: st.DataObject, wanted: Callable[[Transaction], bool]) -> Transaction:
        names = [name for name, each in self.transactions.items() if wanted(each)]
        return self.transactions[data.draw(st.sampled_from(names), label="unit of work")]

    def _open(self, data: st.DataObject) -> Transaction:
        return self._pick(data, _is_open)

    def _enter(self, transaction: Transaction, uow: BasketUnitOfWork) -> None:
        transaction.uow = uow
        assert uow.__enter__() is uow, f"{transaction.name}: __enter__ returned another object"
        transaction.open = True

    def _leave(self, transaction: Transaction) -> None:
        transaction.unit_of_work().__exit__(None, None, None)
        transaction.open = False
        transaction.tracked.clear()

    def _get(self, transaction: Transaction, ref: str) -> Tracked | None:
        found = transaction.unit_of_work().baskets.get(ref)
        return self.model.check_get(transaction, ref, found)

    def _expect_conflict(self, transaction: Transaction, action: Callable[[], object]) -> None:
        try:
            action()
        except ConcurrencyError:
            self._leave(transaction)
        else:
            raise AssertionError(f"{transaction.name}: expected ConcurrencyError")

    def _collect(self, transaction: Transaction) -> None:
        uow = transaction.unit_of_work()
        events = uow.collect_new_events()
        expected = by_aggregate(transaction.collected)
        assert by_aggregate(events) == expected, f"{transaction.name}: collected events"
        assert list(uow.collect_new_events()) == [], f"{transaction.name}: events twice"
        transaction.collected = []

    @precondition(lambda self: any(map(_is_closed, self.transactions.values())))
    @rule(data=st.data())
    def enter(self, data: st.DataObject) -> None:
        """Open a transaction: in a new unit of work, or in one used before."""
        transaction = self._pick(data, _is_closed)
        uow = transaction.unit_of_work()
        if not data.draw(st.booleans(), label="enter it again"):
            self._collect(transaction)  # the last look at the old unit of work's events
            uow = self.new_unit_of_work()
        self._enter(transaction, uow)

    @precondition(lambda self: any(map(_is_open, self.transactions.values())))
    @rule(data=st.data())
    def leave(self, data: st.DataObject) -> None:
        """Leave the block: whatever was not committed is rolled back."""
        self._leave(self._open(data))

    @precondition(lambda self: any(map(_is_open, self.transactions.values())))
    @rule(data=st.data(), ref=_REFS)
    def get(self, data: st.DataObject, ref: str) -> None:
        """Get a basket: this transaction's own, or the committed one, or None."""
        self._get(self._open(data), ref)

    @precondition(lambda self: any(map(_is_open, self.transactions.values())))
    @rule(data=st.data(), ref=_REFS, note=_NOTES, lines=_LINES)
    def add(self, data: st.DataObject, ref: str, note: str, lines: dict[str, int]) -> None:
        """Add a new basket; a key that exists makes the add or the commit raise."""
        transaction = self._open(data)
        basket = Basket(ref, note, [Item(sku, qty) for sku, qty in lines.items()])
        uow = transaction.unit_of_work()
        if self.model.exists(transaction, ref):

            def add_and_commit() -> None:
                uow.baskets.add(basket)
                uow.commit()

            self._expect_conflict(transaction, add_and_commit)
            return
        uow.baskets.add(basket)
        state = (note, tuple(sorted(lines.items())))
        transaction.tracked[ref] = Tracked(basket, base=None, version=0, state=state)

    @precondition(lambda self: any(map(_is_open, self.transactions.values())))
    @rule(data=st.data(), ref=_REFS, note=_NOTES)
    def change_note(self, data: st.DataObject, ref: str, note: str) -> None:
        """Change a basket's root (possibly to the note it has: no net change)."""
        tracked = self._get(self._open(data), ref)
        if tracked is not None:
            tracked.basket.change_note(note)
            tracked.change_note(note)

    @precondition(lambda self: any(map(_is_open, self.transactions.values())))
    @rule(data=st.data(), ref=_REFS, sku=_SKUS, qty=_QTYS)
    def add_item(self, data: st.DataObject, ref: str, sku: str, qty: int) -> None:
        """Change a basket's collection of items: a new item, or more of one."""
        tracked = self._get(self._open(data), ref)
        if tracked is not None:
            tracked.basket.add_item(sku, qty)
            tracked.add_item(sku, qty)

    @precondition(lambda self: any(map(_is_open, self.transactions.values())))
    @rule(data=st.data(), ref=_REFS, sku=_SKUS, qty=_QTYS)
    def set_qty(self, data: st.DataObject, ref: str, sku: str, qty: int) -> None:
        """Change a child object only (possibly to the quantity it has: no net change)."""
        tracked = self._get(self._open(data), ref)
        if tracked is not None and tracked.has_item(sku):
            tracked.basket.set_qty(sku, qty)
            tracked.set_qty(sku, qty)

    @precondition(lambda self: any(map(_is_open, self.transactions.values())))
    @rule(data=st.data())
    def commit(self, data: st.DataObject) -> None:
        """Commit: all or nothing, first committer wins, versions bumped by net changes only."""
        transaction = self._open(data)
        uow = transaction.unit_of_work()
        if self.model.conflicts(transaction):
            self._expect_conflict(transaction, uow.commit)
            return
        uow.commit()
        self.model.commit(transaction)
        if data.draw(st.booleans(), label="collect the events now"):
            self._collect(transaction)

    @precondition(lambda self: any(map(_is_open, self.transactions.values())))
    @rule(data=st.data())
    def rollback(self, data: st.DataObject) -> None:
        """Roll back: every change (and event) since the last commit is discarded."""
        transaction = self._open(data)
        transaction.unit_of_work().rollback()
        transaction.tracked.clear()

    @rule(data=st.data())
    def collect_new_events(self, data: st.DataObject) -> None:
        """Collect events: those of the commits since the last collection, once."""
        self._collect(self._pick(data, lambda _: True))

    @precondition(lambda self: any(map(_is_closed, self.transactions.values())))
    @rule(data=st.data())
    def commit_outside_the_block(self, data: st.DataObject) -> None:
        """commit() of a unit of work whose block is not open raises TransactionError."""
        transaction = self._pick(data, _is_closed)
        try:
            transaction.unit_of_work().commit()
        except TransactionError:
            return
        raise AssertionError(f"{transaction.name}: commit() outside the block did not raise")

    @rule(ref=_REFS)
    def read_committed(self, ref: str) -> None:
        """A fresh unit of work reads exactly what the model says was committed."""
        with self.new_unit_of_work() as uow:
            self.model.check_stored(ref, uow.baskets.get(ref))


def _is_open(transaction: Transaction) -> bool:
    return transaction.open


def _is_closed(transaction: Transaction) -> bool:
    return not transaction.open


def unit_of_work_machine(
    factory_maker: Callable[[], Callable[[], BasketUnitOfWork]],
    *,
    name: str = "UnitOfWorkMachine",
) -> type[UnitOfWorkMachine]:
    """A `UnitOfWorkMachine` whose units of work come from ``factory_maker()``.

    Args:
        factory_maker: Called once per example: returns a factory of units of work over a
            fresh, empty store (or database).
        name: The class name, shown in Hypothesis's reports.

    Returns:
        The machine class; run its ``TestCase``, or pass it to
        `hypothesis.stateful.run_state_machine_as_test`.

    Example:
        >>> from functools import partial
        >>> from tactical import InMemoryStore
        >>> from tactical.testing.sample import InMemoryBasketUnitOfWork
        >>> Machine = unit_of_work_machine(
        ...     lambda: partial(InMemoryBasketUnitOfWork, InMemoryStore()), name="InMemory"
        ... )
        >>> TestInMemory = Machine.TestCase  # collected by pytest or unittest
    """

    def unit_of_work_factory(self: Any) -> Callable[[], BasketUnitOfWork]:  # noqa: ARG001 - a method
        return factory_maker()

    return type(name, (UnitOfWorkMachine,), {"unit_of_work_factory": unit_of_work_factory})
