"""The fixture and hook methods of the contract suites, with defaults for the sample `Basket`."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import pytest

from tactical.testing.sample import Basket, Item

if TYPE_CHECKING:
    from tactical._messages import Event
    from tactical._repository import Repository, UnitOfWork
    from tactical.testing.sample import BasketUnitOfWork

__all__ = ["Factory", "Hooks"]

Factory = Callable[[], Any]
"""A factory of units of work, as the ``unit_of_work`` fixture returns it."""

_notes = itertools.count()


class Hooks:
    """The fixture and hook methods that both suites use, with defaults for `Basket`."""

    @pytest.fixture
    def unit_of_work(self) -> Callable[[], UnitOfWork]:
        """Override: a factory of fresh units of work sharing one store, empty for each test."""
        pytest.fail(
            f"{type(self).__qualname__} must override the `unit_of_work` fixture: return a "
            "factory of units of work that share one (empty) store or database",
            pytrace=False,
        )

    def repository(self, uow: Any) -> Repository[Any, Any]:
        """The repository under test, inside the open unit of work ``uow``."""
        return cast("BasketUnitOfWork", uow).baskets

    def new_aggregate(self, key: str) -> Any:
        """A new aggregate with this key, holding at least one child object."""
        return Basket(key, note="new", items=[Item("sku-1", 1), Item("sku-2", 2)])

    def key_of(self, aggregate: Any) -> Any:
        """The key under which the repository stores ``aggregate``."""
        return cast("Basket", aggregate).ref

    def change_root(self, aggregate: Any) -> None:
        """Change the root's own state to a value it never had; record at least one event."""
        cast("Basket", aggregate).change_note(f"note-{next(_notes)}")

    def change_child(self, aggregate: Any) -> None:
        """Change a child object only, to a value it never had (the root stays as it is)."""
        basket = cast("Basket", aggregate)
        item = basket.items[0]
        basket.set_qty(item.sku, item.qty + 1)

    def observe(self, aggregate: Any) -> object:
        """A comparable snapshot of the whole state of ``aggregate``, children included."""
        basket = cast("Basket", aggregate)
        return (basket.ref, basket.note, sorted((item.sku, item.qty) for item in basket.items))

    def version_of(self, aggregate: Any) -> int:
        """The version of ``aggregate`` (the unit of work sets it on commit)."""
        return cast("int", aggregate.version)

    def change(self, kind: str, aggregate: Any) -> None:
        """Apply `change_root` (``kind="root"``) or `change_child` (``kind="child"``)."""
        if kind == "root":
            self.change_root(aggregate)
        else:
            self.change_child(aggregate)

    def stored(self, unit_of_work: Factory, key: object) -> tuple[object, int] | None:
        """What a fresh unit of work reads under ``key``: the state and version, or ``None``."""
        with unit_of_work() as uow:
            aggregate = self.repository(uow).get(key)
            if aggregate is None:
                return None
            return self.observe(aggregate), self.version_of(aggregate)

    def seed(self, unit_of_work: Factory, key: str = "b-1") -> tuple[Any, object]:
        """Commit a new aggregate; return its key and state."""
        aggregate = self.new_aggregate(key)
        with unit_of_work() as uow:
            self.repository(uow).add(aggregate)
            state = self.observe(aggregate)
            uow.commit()
        return self.key_of(aggregate), state

    def recorded(self, change: Callable[[Any], None], aggregate: Any) -> list[Event]:
        """Apply ``change`` to ``aggregate`` and return the events it recorded."""
        before = len(aggregate.events)
        change(aggregate)
        events: list[Event] = aggregate.events[before:]
        assert events, f"{change.__name__}() must record at least one event for this case"
        return events
