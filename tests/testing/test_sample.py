"""The sample domain: a basket aggregate, its events, commands and handlers."""

from __future__ import annotations

import pytest

from tactical import InMemoryStore, bootstrap
from tactical.testing import InstantSleep
from tactical.testing.sample import (
    HANDLERS,
    AddItem,
    Basket,
    ChangeNote,
    CreateBasket,
    InMemoryBasketUnitOfWork,
    Item,
    ItemAdded,
    NoteChanged,
    SetQty,
)


class TestBasket:
    def test_a_new_basket_is_empty_and_records_nothing(self) -> None:
        """A basket starts with no note, no items, no events and version 0."""
        basket = Basket("b-1")
        assert (basket.note, basket.items, basket.events, basket.version) == ("", [], [], 0)

    def test_add_item_appends_then_increases(self) -> None:
        """Adding a new sku appends an item; adding it again increases its quantity."""
        basket = Basket("b-1")
        basket.add_item("LAMP", 1)
        basket.add_item("SOFA", 1)
        basket.add_item("LAMP", 2)
        assert [(item.sku, item.qty) for item in basket.items] == [("LAMP", 3), ("SOFA", 1)]
        assert basket.events == [
            ItemAdded("b-1", "LAMP", 1),
            ItemAdded("b-1", "SOFA", 1),
            ItemAdded("b-1", "LAMP", 2),
        ]

    def test_set_qty_changes_the_child_only_and_records_nothing(self) -> None:
        """set_qty changes the item in place; the root and the events stay as they were."""
        lamp = Item("LAMP", 1)
        basket = Basket("b-1", "note", [lamp])
        basket.set_qty("LAMP", 5)
        assert (basket.items[0] is lamp, lamp.qty, basket.note, basket.events) == (
            True,
            5,
            "note",
            [],
        )

    def test_set_qty_of_a_missing_item_is_a_key_error(self) -> None:
        """There is no item to change."""
        with pytest.raises(KeyError):
            Basket("b-1").set_qty("LAMP", 1)

    def test_change_note_changes_the_root_and_records_it(self) -> None:
        """change_note replaces the note and records NoteChanged."""
        basket = Basket("b-1")
        basket.change_note("gift")
        assert (basket.note, basket.events) == ("gift", [NoteChanged("b-1", "gift")])

    def test_baskets_and_items_are_entities(self) -> None:
        """A basket is identified by its ref, an item by its sku."""
        assert Basket("b-1", "x") == Basket("b-1", "y")
        assert Item("LAMP", 1) == Item("LAMP", 2)
        assert Basket("b-1") != Basket("b-2")


class TestHandlers:
    def test_each_command_changes_and_commits_one_basket(self) -> None:
        """Each handler loads the basket, changes it and commits: one version per command."""
        store = InMemoryStore()
        bus = bootstrap(uow=lambda: InMemoryBasketUnitOfWork(store), handlers=HANDLERS)
        for command in [
            CreateBasket("b-1", "new"),
            AddItem("b-1", "LAMP", 1),
            SetQty("b-1", "LAMP", 4),
            ChangeNote("b-1", "gift"),
        ]:
            bus.handle(command)
        with InMemoryBasketUnitOfWork(store) as uow:
            basket = uow.baskets.get("b-1")
            assert basket is not None
            assert (basket.note, basket.items, basket.version) == ("gift", [Item("LAMP", 4)], 4)
            assert basket.items[0].qty == 4

    def test_creating_an_existing_basket_is_a_value_error(self) -> None:
        """A second CreateBasket for one ref fails without touching the first basket."""
        store = InMemoryStore()
        bus = bootstrap(uow=lambda: InMemoryBasketUnitOfWork(store), handlers=HANDLERS)
        bus.handle(CreateBasket("b-1", "first"))
        with pytest.raises(ValueError, match="exists"):
            bus.handle(CreateBasket("b-1", "second"))
        assert store.version_of(Basket, "b-1") == 1

    def test_commands_for_a_missing_basket_are_key_errors(self) -> None:
        """AddItem, SetQty and ChangeNote need the basket to exist."""
        bus = bootstrap(uow=InMemoryBasketUnitOfWork, handlers=HANDLERS)
        for command in [AddItem("b-1", "LAMP", 1), SetQty("b-1", "LAMP", 1), ChangeNote("b-1", "")]:
            with pytest.raises(KeyError, match="no basket b-1"):
                bus.handle(command)

    def test_a_basket_created_concurrently_is_reported_as_existing(self) -> None:
        """When a rival creates the basket first, the bus retries and the retry says it exists."""
        store = InMemoryStore()

        class RacedUnitOfWork(InMemoryBasketUnitOfWork):
            rival_done = False

            def commit(self) -> None:
                if not RacedUnitOfWork.rival_done:
                    RacedUnitOfWork.rival_done = True
                    with InMemoryBasketUnitOfWork(store) as rival:
                        rival.baskets.add(Basket("b-1", "theirs"))
                        rival.commit()
                super().commit()

        sleep = InstantSleep()
        bus = bootstrap(uow=lambda: RacedUnitOfWork(store), handlers=HANDLERS, sleep=sleep)
        with pytest.raises(ValueError, match="exists"):
            bus.handle(CreateBasket("b-1", "ours"))
        assert len(sleep.delays) == 1
        with InMemoryBasketUnitOfWork(store) as uow:
            basket = uow.baskets.get("b-1")
            assert basket is not None
            assert basket.note == "theirs"
