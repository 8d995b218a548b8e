"""The reference model of `UnitOfWorkMachine`: what units of work over baskets must do.

It is deliberately naive (dictionaries of snapshots) so that it is obviously right: committed
states and versions, and per transaction the baskets it holds, their pending state and the
events they recorded. The machine performs each step on real units of work and checks every
observation against it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tactical.testing.sample import ItemAdded, NoteChanged

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tactical._messages import Event
    from tactical.testing.sample import Basket, BasketUnitOfWork

__all__ = ["Model", "Snapshot", "Tracked", "Transaction", "by_aggregate", "snapshot"]

Snapshot = tuple[str, tuple[tuple[str, int], ...]]
"""A basket's state: its note and its sorted (sku, qty) pairs."""


def snapshot(basket: Basket) -> Snapshot:
    """The state of a real basket, as the model writes it."""
    return basket.note, tuple(sorted((item.sku, item.qty) for item in basket.items))


def by_aggregate(events: Iterable[Event]) -> dict[str, list[Event]]:
    """Events grouped by basket, in order: the order between aggregates is not specified."""
    grouped: defaultdict[str, list[Event]] = defaultdict(list)
    for event in events:
        grouped[getattr(event, "ref", "")].append(event)
    return dict(grouped)


@dataclass
class Tracked:
    """A basket a transaction holds, and what the model expects of it."""

    basket: Basket
    base: Snapshot | None
    """The state loaded or last committed; ``None`` while added and never committed."""
    version: int
    state: Snapshot
    events: list[Event] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether a commit must write it: new, or a net change since it was loaded."""
        return self.base is None or self.state != self.base

    def change_note(self, note: str) -> None:
        """Expect what `Basket.change_note` does."""
        ref = self.basket.ref
        self.state = (note, self.state[1])
        self.events.append(NoteChanged(ref, note))

    def add_item(self, sku: str, qty: int) -> None:
        """Expect what `Basket.add_item` does."""
        lines = dict(self.state[1])
        lines[sku] = lines.get(sku, 0) + qty
        self.state = (self.state[0], tuple(sorted(lines.items())))
        self.events.append(ItemAdded(self.basket.ref, sku, qty))

    def set_qty(self, sku: str, qty: int) -> None:
        """Expect what `Basket.set_qty` does."""
        lines = dict(self.state[1]) | {sku: qty}
        self.state = (self.state[0], tuple(sorted(lines.items())))

    def has_item(self, sku: str) -> bool:
        """Whether the basket holds an item of ``sku``."""
        return sku in dict(self.state[1])


@dataclass
class Transaction:
    """One unit of work the machine drives, and the model of its open transaction."""

    name: str
    uow: BasketUnitOfWork | None = None
    open: bool = False
    tracked: dict[str, Tracked] = field(default_factory=dict)
    collected: list[Event] = field(default_factory=list)
    """Events committed through this unit of work and not collected yet."""

    def unit_of_work(self) -> BasketUnitOfWork:
        """The unit of work (one exists once the transaction was first opened)."""
        assert self.uow is not None
        return self.uow


class Model:
    """Committed baskets and versions; the rules a transaction's observations must follow."""

    def __init__(self) -> None:
        self.committed: dict[str, tuple[Snapshot, int]] = {}

    def check_get(self, transaction: Transaction, ref: str, found: Basket | None) -> Tracked | None:
        """Check what ``get(ref)`` returned in ``transaction``; track a basket loaded now."""
        where = f"{transaction.name}: get({ref!r})"
        tracked = transaction.tracked.get(ref)
        if tracked is not None:
            assert found is tracked.basket, f"{where} returned another object in a transaction"
            assert snapshot(found) == tracked.state, f"{where}: state is not the pending one"
            if tracked.base is not None:
                assert found.version == tracked.version, f"{where}: wrong version"
            return tracked
        stored = self.committed.get(ref)
        if stored is None:
            assert found is None, f"{where} returned {found!r}; nothing was committed"
            return None
        assert found is not None, f"{where} returned None; {stored} was committed"
        assert (snapshot(found), found.version) == stored, f"{where}: not the committed state"
        assert found.events == [], f"{where}: a freshly loaded aggregate has pending events"
        tracked = Tracked(found, base=stored[0], version=stored[1], state=stored[0])
        transaction.tracked[ref] = tracked
        return tracked

    def exists(self, transaction: Transaction, ref: str) -> bool:
        """Whether adding ``ref`` in ``transaction`` must fail: it holds it, or it is committed."""
        return ref in transaction.tracked or ref in self.committed

    def conflicts(self, transaction: Transaction) -> bool:
        """Whether committing ``transaction`` must raise `ConcurrencyError`."""
        for ref, tracked in transaction.tracked.items():
            stored = self.committed.get(ref)
            if stored is None:
                continue
            if tracked.base is None:
                return True  # added here, and added and committed by another meanwhile
            if tracked.changed and stored[1] != tracked.version:
                return True  # changed here, and changed and committed by another meanwhile
        return False

    def commit(self, transaction: Transaction) -> None:
        """Apply a successful commit and check the baskets in hand afterwards."""
        for ref, tracked in transaction.tracked.items():
            if tracked.changed:
                tracked.version += 1
                tracked.base = tracked.state
                self.committed[ref] = (tracked.state, tracked.version)
            where = f"{transaction.name}: after commit, {ref}"
            assert tracked.basket.version == tracked.version, f"{where} has the wrong version"
            assert snapshot(tracked.basket) == tracked.state, f"{where} changed"
            transaction.collected += tracked.events
            tracked.events = []

    def check_stored(self, ref: str, found: Basket | None) -> None:
        """Check what a fresh unit of work read under ``ref``."""
        seen = None if found is None else (snapshot(found), found.version)
        assert seen == self.committed.get(ref), f"a fresh unit of work read {ref}: {seen}"
