"""Entities compare by identity, aggregates record events and carry a version, values are frozen."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tactical import Aggregate, Entity, Event
from tactical._aggregate import key_of


@dataclass(frozen=True)
class Money:
    """A value object: equal when its values are equal, and immutable."""

    currency: str
    amount: int


@dataclass(frozen=True)
class Renamed(Event):
    name: str


class Batch(Entity, key="reference"):
    def __init__(self, reference: str, qty: int) -> None:
        self.reference = reference
        self.qty = qty


class LargeBatch(Batch):
    pass


class Order(Entity, key="orderid"):
    def __init__(self, orderid: str) -> None:
        self.orderid = orderid


class Customer(Aggregate, key="email"):
    def __init__(self, email: str, name: str) -> None:
        self.email = email
        self.name = name

    def rename(self, name: str) -> None:
        self.name = name
        self.events.append(Renamed(name))


class Keyless(Entity):
    def __init__(self, reference: str) -> None:
        self.reference = reference


class TestEntity:
    @given(st.text(), st.integers(), st.integers())
    def test_entities_with_the_same_key_are_equal_whatever_their_attributes(
        self, reference: str, qty: int, other_qty: int
    ) -> None:
        """Two entities of one class with equal keys are equal and hash alike."""
        first, second = Batch(reference, qty), Batch(reference, other_qty)
        assert first == second
        assert hash(first) == hash(second)

    @given(st.text(), st.text())
    def test_entities_with_different_keys_differ(self, reference: str, other: str) -> None:
        """Entities of one class with different keys are not equal."""
        assert (Batch(reference, 1) == Batch(other, 1)) is (reference == other)

    def test_a_set_keeps_one_entity_per_key(self) -> None:
        """An entity hashes by its key, so a set or dict holds one entry per identity."""
        batches = {Batch("b1", 1), Batch("b1", 2), Batch("b2", 1)}
        assert sorted(b.reference for b in batches) == ["b1", "b2"]

    def test_entities_of_different_classes_are_never_equal(self) -> None:
        """Equality needs the same class, even for a subclass with the same key."""
        assert Batch("b1", 1) != LargeBatch("b1", 1)
        assert LargeBatch("b1", 1) != Batch("b1", 1)
        assert Batch("b1", 1) != Order("b1")

    def test_an_entity_is_not_equal_to_a_plain_value(self) -> None:
        """Comparing with something that is not an entity of the class is simply unequal."""
        assert Batch("b1", 1) != "b1"
        assert Batch("b1", 1).__eq__("b1") is NotImplemented

    def test_a_subclass_inherits_its_key(self) -> None:
        """A subclass identifies its instances by the attribute its base class named."""
        assert LargeBatch("b1", 1) == LargeBatch("b1", 9)
        assert key_of(LargeBatch("b7", 1)) == "b7"

    def test_key_of_returns_the_identity(self) -> None:
        """`key_of` reads the attribute that the class names as its key."""
        assert key_of(Order("o-1")) == "o-1"

    def test_an_entity_without_a_key_says_how_to_declare_one(self) -> None:
        """Comparing or hashing an entity whose class names no key is a TypeError naming it."""
        with pytest.raises(TypeError, match=r"Keyless declares no key.*key='<attribute>'"):
            hash(Keyless("k"))
        with pytest.raises(TypeError, match="Keyless declares no key"):
            _ = Keyless("k") == Keyless("k")

    @pytest.mark.parametrize("key", ["", "not an identifier", "1st", "a.b"])
    def test_a_key_must_name_an_attribute(self, key: str) -> None:
        """Declaring a key that cannot be an attribute name fails when the class is created."""
        with pytest.raises(TypeError, match="key must name an attribute"):

            class Bad(Entity, key=key):
                pass

    def test_subclass_keywords_still_reach_other_bases(self) -> None:
        """`key=` is consumed; other class keywords pass on to `__init_subclass__` up the MRO."""
        seen: list[str] = []

        class Tagged:
            def __init_subclass__(cls, *, tag: str = "", **kwargs: object) -> None:
                super().__init_subclass__(**kwargs)
                seen.append(tag)

        class Tracked(Entity, Tagged, key="ident", tag="audited"):
            ident = 1

        assert seen == ["audited"]
        assert Tracked() == Tracked()


class TestAggregate:
    def test_an_aggregate_records_the_events_of_its_changes(self) -> None:
        """Domain methods append events to `events`, in order."""
        customer = Customer("ada@example.com", "Ada")
        customer.rename("Ada L.")
        customer.rename("Countess")
        assert customer.events == [Renamed("Ada L."), Renamed("Countess")]

    def test_events_exist_before_init_runs(self) -> None:
        """`events` is set in `__new__`: a subclass need not call `super().__init__()`."""
        customer = Customer.__new__(Customer, "ada@example.com", "Ada")
        assert customer.events == []

    def test_each_aggregate_has_its_own_events(self) -> None:
        """Events are per instance, never a list shared through the class."""
        first, second = Customer("a@x", "A"), Customer("b@x", "B")
        first.rename("A2")
        assert second.events == []
        assert first.events is not second.events

    def test_a_new_aggregate_is_at_version_zero(self) -> None:
        """An aggregate that was never committed has version 0."""
        assert Customer("a@x", "A").version == 0

    def test_an_aggregate_is_an_entity(self) -> None:
        """Aggregates compare and hash by their key, whatever their events or version."""
        first, second = Customer("a@x", "A"), Customer("a@x", "B")
        first.rename("C")
        second.version = 7
        assert first == second
        assert hash(first) == hash(second)
        assert isinstance(first, Entity)


class TestValueObject:
    def test_value_objects_are_equal_by_value(self) -> None:
        """A frozen dataclass is equal to another with the same values, and hashes alike."""
        assert Money("EUR", 5) == Money("EUR", 5)
        assert hash(Money("EUR", 5)) == hash(Money("EUR", 5))
        assert Money("EUR", 5) != Money("EUR", 6)

    def test_value_objects_are_immutable(self) -> None:
        """Assigning to a field of a value object raises."""
        price = Money("EUR", 5)
        with pytest.raises(dataclasses.FrozenInstanceError):
            price.amount = 6  # type: ignore[misc]

    def test_messages_are_frozen_dataclasses_too(self) -> None:
        """An event declared as a frozen dataclass is a value: equal by value and immutable."""
        event = Renamed("Ada")
        assert event == Renamed("Ada")
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.name = "Bob"  # type: ignore[misc]
