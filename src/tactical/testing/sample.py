"""A small sample domain that the contract suites and the stateful test run on by default.

A `Basket` is an aggregate (key ``ref``) holding `Item` entities (key ``sku``). It is the
smallest model that exercises everything a unit of work must get right: a change to the root
(`Basket.change_note`), a change to a child object only (`Basket.set_qty`), and a change to a
collection of children (`Basket.add_item`), with events recorded along the way.

The classes are plain on purpose, so an adapter can map them to tables (the SQLAlchemy
adapter's tests map them imperatively). Commands and their handlers complete the sample for
tests that go through a message bus.

Example:
    >>> from tactical import InMemoryStore, bootstrap
    >>> store = InMemoryStore()
    >>> bus = bootstrap(uow=lambda: InMemoryBasketUnitOfWork(store), handlers=HANDLERS)
    >>> bus.handle(CreateBasket("b1"))
    >>> bus.handle(AddItem("b1", "LAMP", 2))
    >>> with InMemoryBasketUnitOfWork(store) as uow:
    ...     basket = uow.baskets.get("b1")
    >>> [(item.sku, item.qty) for item in basket.items], basket.version
    ([('LAMP', 2)], 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tactical._aggregate import Aggregate, Entity
from tactical._memory import InMemoryRepository, InMemoryUnitOfWork
from tactical._messages import Command, Event
from tactical._repository import UnitOfWork

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from tactical._messages import Message
    from tactical._repository import Repository

__all__ = [
    "HANDLERS",
    "AddItem",
    "Basket",
    "BasketUnitOfWork",
    "ChangeNote",
    "CreateBasket",
    "InMemoryBasketUnitOfWork",
    "Item",
    "ItemAdded",
    "NoteChanged",
    "SetQty",
    "add_item",
    "change_note",
    "create_basket",
    "set_qty",
]


@dataclass(frozen=True)
class ItemAdded(Event):
    """Items were put in a basket (a new line, or more of an existing one).

    Example:
        >>> ItemAdded("b1", "LAMP", 2)
        ItemAdded(ref='b1', sku='LAMP', qty=2)
    """

    ref: str
    sku: str
    qty: int


@dataclass(frozen=True)
class NoteChanged(Event):
    """A basket's note was replaced.

    Example:
        >>> NoteChanged("b1", "gift")
        NoteChanged(ref='b1', note='gift')
    """

    ref: str
    note: str


class Item(Entity, key="sku"):
    """A line of a basket: a child entity, identified by its ``sku`` within the basket.

    Example:
        >>> Item("LAMP", 1) == Item("LAMP", 5)
        True
    """

    def __init__(self, sku: str, qty: int) -> None:
        """Create an item.

        Args:
            sku: The product; the item's key within its basket.
            qty: How many.
        """
        self.sku = sku
        self.qty = qty

    def __repr__(self) -> str:
        """Show the sku and quantity."""
        return f"Item({self.sku!r}, {self.qty!r})"


class Basket(Aggregate, key="ref"):
    """The sample aggregate: a root (``ref``, ``note``) and child `Item` entities.

    Example:
        >>> basket = Basket("b1")
        >>> basket.add_item("LAMP", 1)
        >>> basket.add_item("LAMP", 2)
        >>> basket.set_qty("LAMP", 5)
        >>> basket.change_note("gift")
        >>> basket.items, basket.note
        ([Item('LAMP', 5)], 'gift')
        >>> basket.events
        [ItemAdded(ref='b1', sku='LAMP', qty=1), ItemAdded(ref='b1', sku='LAMP', qty=2), \
NoteChanged(ref='b1', note='gift')]
    """

    def __init__(self, ref: str, note: str = "", items: list[Item] | None = None) -> None:
        """Create a basket; it records no event.

        Args:
            ref: The basket's key.
            note: A free text on the root.
            items: The child items; none by default.
        """
        self.ref = ref
        self.note = note
        self.items = [] if items is None else items

    def __repr__(self) -> str:
        """Show the root's state and the items."""
        return f"Basket({self.ref!r}, note={self.note!r}, items={self.items!r})"

    def item(self, sku: str) -> Item | None:
        """The item with this ``sku``, or ``None``.

        Example:
            >>> Basket("b1", items=[Item("LAMP", 1)]).item("LAMP")
            Item('LAMP', 1)
        """
        for item in self.items:
            if item.sku == sku:
                return item
        return None

    def add_item(self, sku: str, qty: int) -> None:
        """Add ``qty`` of ``sku``: a new item, or more of the existing one; records `ItemAdded`.

        Example:
            >>> basket = Basket("b1")
            >>> basket.add_item("LAMP", 1)
            >>> basket.items, basket.events
            ([Item('LAMP', 1)], [ItemAdded(ref='b1', sku='LAMP', qty=1)])
        """
        item = self.item(sku)
        if item is None:
            self.items.append(Item(sku, qty))
        else:
            item.qty += qty
        self.events.append(ItemAdded(self.ref, sku, qty))

    def set_qty(self, sku: str, qty: int) -> None:
        """Set the quantity of an existing item: a change to a child object only; no event.

        Raises:
            KeyError: The basket has no item with this ``sku``.

        Example:
            >>> basket = Basket("b1", items=[Item("LAMP", 1)])
            >>> basket.set_qty("LAMP", 3)
            >>> basket.items, basket.events
            ([Item('LAMP', 3)], [])
        """
        item = self.item(sku)
        if item is None:
            raise KeyError(sku)
        item.qty = qty

    def change_note(self, note: str) -> None:
        """Replace the note: a change to the root only; records `NoteChanged`.

        Example:
            >>> basket = Basket("b1")
            >>> basket.change_note("gift")
            >>> basket.note, basket.events
            ('gift', [NoteChanged(ref='b1', note='gift')])
        """
        self.note = note
        self.events.append(NoteChanged(self.ref, note))


class BasketUnitOfWork(UnitOfWork, Protocol):
    """A unit of work with a repository of baskets: what the sample handlers depend on.

    Example:
        >>> def count_items(uow: BasketUnitOfWork, ref: str) -> int:
        ...     with uow:
        ...         basket = uow.baskets.get(ref)
        ...         return 0 if basket is None else len(basket.items)
        >>> count_items(InMemoryBasketUnitOfWork(), "b1")
        0
    """

    @property
    def baskets(self) -> Repository[Basket, str]:
        """The baskets, in this unit of work's transaction."""
        ...


class InMemoryBasketUnitOfWork(InMemoryUnitOfWork):
    """The in-memory `BasketUnitOfWork`.

    Example:
        >>> from tactical import InMemoryStore
        >>> store = InMemoryStore()
        >>> with InMemoryBasketUnitOfWork(store) as uow:
        ...     uow.baskets.add(Basket("b1"))
        ...     uow.commit()
        >>> store.version_of(Basket, "b1")
        1
    """

    @property
    def baskets(self) -> InMemoryRepository[Basket, str]:
        """The baskets, in this unit of work's transaction."""
        return self.repository(Basket)


@dataclass(frozen=True)
class CreateBasket(Command):
    """Create an empty basket.

    Example:
        >>> CreateBasket("b1", note="gift")
        CreateBasket(ref='b1', note='gift')
    """

    ref: str
    note: str = ""


@dataclass(frozen=True)
class AddItem(Command):
    """Put ``qty`` of ``sku`` in a basket.

    Example:
        >>> AddItem("b1", "LAMP", 2)
        AddItem(ref='b1', sku='LAMP', qty=2)
    """

    ref: str
    sku: str
    qty: int


@dataclass(frozen=True)
class SetQty(Command):
    """Set the quantity of an item already in a basket.

    Example:
        >>> SetQty("b1", "LAMP", 5)
        SetQty(ref='b1', sku='LAMP', qty=5)
    """

    ref: str
    sku: str
    qty: int


@dataclass(frozen=True)
class ChangeNote(Command):
    """Replace a basket's note.

    Example:
        >>> ChangeNote("b1", "gift")
        ChangeNote(ref='b1', note='gift')
    """

    ref: str
    note: str


def create_basket(command: CreateBasket, uow: BasketUnitOfWork) -> None:
    """Handle `CreateBasket`.

    Raises:
        ValueError: A basket with this ``ref`` exists. (One created concurrently makes the
            commit raise `ConcurrencyError`; the bus retries, and the retry raises this.)

    Example:
        >>> uow = InMemoryBasketUnitOfWork()
        >>> create_basket(CreateBasket("b1"), uow)
        >>> create_basket(CreateBasket("b1"), uow)
        Traceback (most recent call last):
        ...
        ValueError: basket b1 exists
    """
    with uow:
        if uow.baskets.get(command.ref) is not None:
            raise ValueError(f"basket {command.ref} exists")
        uow.baskets.add(Basket(command.ref, command.note))
        uow.commit()


def add_item(command: AddItem, uow: BasketUnitOfWork) -> None:
    """Handle `AddItem`.

    Raises:
        KeyError: There is no basket with this ``ref``.

    Example:
        >>> uow = InMemoryBasketUnitOfWork()
        >>> create_basket(CreateBasket("b1"), uow)
        >>> add_item(AddItem("b1", "LAMP", 2), uow)
        >>> list(uow.collect_new_events())
        [ItemAdded(ref='b1', sku='LAMP', qty=2)]
    """
    with uow:
        _basket(uow, command.ref).add_item(command.sku, command.qty)
        uow.commit()


def set_qty(command: SetQty, uow: BasketUnitOfWork) -> None:
    """Handle `SetQty`.

    Raises:
        KeyError: There is no basket with this ``ref``, or no such item in it.

    Example:
        >>> uow = InMemoryBasketUnitOfWork()
        >>> create_basket(CreateBasket("b1"), uow)
        >>> set_qty(SetQty("b1", "LAMP", 2), uow)
        Traceback (most recent call last):
        ...
        KeyError: 'LAMP'
    """
    with uow:
        _basket(uow, command.ref).set_qty(command.sku, command.qty)
        uow.commit()


def change_note(command: ChangeNote, uow: BasketUnitOfWork) -> None:
    """Handle `ChangeNote`.

    Raises:
        KeyError: There is no basket with this ``ref``.

    Example:
        >>> uow = InMemoryBasketUnitOfWork()
        >>> change_note(ChangeNote("b1", "gift"), uow)
        Traceback (most recent call last):
        ...
        KeyError: 'no basket b1'
    """
    with uow:
        _basket(uow, command.ref).change_note(command.note)
        uow.commit()


def _basket(uow: BasketUnitOfWork, ref: str) -> Basket:
    basket = uow.baskets.get(ref)
    if basket is None:
        raise KeyError(f"no basket {ref}")
    return basket


HANDLERS: Mapping[type[Message], Callable[..., Any]] = {
    CreateBasket: create_basket,
    AddItem: add_item,
    SetQty: set_qty,
    ChangeNote: change_note,
}
"""The sample's handlers, ready for [`bootstrap`][tactical.bootstrap]."""
