"""Strategies build messages from their type hints and draw the sample domain."""

# No `from __future__ import annotations`: the messages below are read by their type hints.

import dataclasses
import datetime as dt
import enum
import typing
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal, NewType

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from tactical import Command, Event, InMemoryStore, bootstrap
from tactical.testing import any_message, basket_commands, baskets, items, messages
from tactical.testing._strategies import SKUS
from tactical.testing.sample import (
    HANDLERS,
    AddItem,
    Basket,
    ChangeNote,
    CreateBasket,
    InMemoryBasketUnitOfWork,
    Item,
    SetQty,
)

OrderId = NewType("OrderId", str)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Address:
    street: str
    number: int


@dataclass(frozen=True)
class Everything(Command):
    flag: bool
    count: int
    ratio: float
    name: str
    raw: bytes
    price: Decimal
    day: dt.date
    moment: dt.datetime
    clock: dt.time
    span: dt.timedelta
    ident: uuid.UUID
    colour: Colour
    size: Literal["S", "M", "L"]
    order: OrderId
    quantity: Annotated[int, "a note for readers"]
    maybe: int | None
    legacy: typing.Optional[str]  # noqa: UP045 - the old spelling is supported too
    either: int | str
    pair: tuple[int, str]
    many: tuple[int, ...]
    listed: list[str]
    unique: frozenset[int]
    mapping: dict[str, int]
    address: Address
    where: Address | None


@dataclass(frozen=True)
class Tree(Event):
    label: str
    children: tuple["Tree", ...]


class Opaque:
    """A class no strategy is known for."""


@dataclass(frozen=True)
class Shipped(Event):
    orderid: str
    parcel: Opaque


@dataclass(frozen=True)
class Nested(Event):
    address: "Unknown"  # type: ignore[name-defined]  # noqa: F821 - on purpose


@dataclass(frozen=True)
class Wrapped(Event):
    inner: Shipped


@dataclass(frozen=True)
class WithDefault(Command):
    ref: str
    qty: int = 1
    computed: str = dataclasses.field(default="x", init=False)


class Registered:
    def __init__(self, code: str) -> None:
        self.code = code


st.register_type_strategy(Registered, st.builds(Registered, st.just("REG")))


@dataclass(frozen=True)
class UsesRegistered(Event):
    thing: Registered


FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "flag": bool,
    "count": int,
    "ratio": float,
    "name": str,
    "raw": bytes,
    "price": Decimal,
    "day": dt.date,
    "moment": dt.datetime,
    "clock": dt.time,
    "span": dt.timedelta,
    "ident": uuid.UUID,
    "colour": Colour,
    "order": str,
    "quantity": int,
    "either": (int, str),
    "pair": tuple,
    "many": tuple,
    "listed": list,
    "unique": frozenset,
    "mapping": dict,
    "address": Address,
}


def instance_of(cls: type) -> Callable[[object], bool]:
    return lambda value: isinstance(value, cls)


class TestMessages:
    @given(messages(Everything))
    def test_builds_every_supported_field_type(self, message: Everything) -> None:
        """Each field gets a value of its declared type."""
        for name, expected in FIELD_TYPES.items():
            assert isinstance(getattr(message, name), expected), name
        assert message.size in {"S", "M", "L"}
        assert message.maybe is None or isinstance(message.maybe, int)
        assert message.legacy is None or isinstance(message.legacy, str)
        assert message.where is None or isinstance(message.where, Address)
        assert [type(value) for value in message.pair] == [int, str]

    @given(messages(Everything))
    def test_values_equal_themselves(self, message: Everything) -> None:
        """No NaN and no infinity: a copy of a message equals it, so round trips can be checked."""
        assert dataclasses.replace(message) == message

    @given(messages(Tree))
    def test_builds_recursive_messages(self, tree: Tree) -> None:
        """A message that contains itself is built lazily, to a finite depth."""
        assert all(isinstance(child, Tree) for child in tree.children)

    @given(messages(WithDefault, qty=st.just(7)))
    def test_a_strategy_given_for_a_field_is_used(self, message: WithDefault) -> None:
        """A field given by name is drawn from that strategy."""
        assert message.qty == 7

    @given(messages(UsesRegistered))
    def test_uses_strategies_registered_with_hypothesis(self, message: UsesRegistered) -> None:
        """A type registered with st.register_type_strategy is built with that strategy."""
        assert message.thing.code == "REG"

    def test_a_field_no_strategy_is_known_for_is_a_clear_type_error(self) -> None:
        """The error names the message, the field and the two ways to provide a strategy."""
        with pytest.raises(TypeError) as info:
            messages(Shipped)
        text = str(info.value)
        assert "messages(Shipped) cannot build Shipped.parcel" in text
        assert "messages(Shipped, parcel=...)" in text
        assert "register_type_strategy(Opaque, ...)" in text

    def test_a_nested_field_is_named_by_its_path(self) -> None:
        """A field inside a nested dataclass is named by its path; the override is the outer."""
        with pytest.raises(TypeError, match=r"Wrapped\.inner\.parcel.*Wrapped, inner=\.\.\."):
            messages(Wrapped)

    def test_a_strategy_for_the_troublesome_field_fixes_it(self) -> None:
        """Giving a strategy for the field that cannot be built makes the message buildable."""
        message = find(
            messages(Shipped, parcel=st.builds(Opaque)),
            lambda _: True,
            settings=settings(database=None),
        )
        assert isinstance(message.parcel, Opaque)

    def test_an_unresolvable_type_hint_is_a_type_error(self) -> None:
        """A forward reference that names nothing is reported, not drawn into a NameError."""
        with pytest.raises(TypeError, match="cannot resolve a type hint"):
            messages(Nested)

    def test_a_name_that_is_no_field_is_a_type_error(self) -> None:
        """A strategy for a name that is not an init field is refused."""
        with pytest.raises(TypeError, match="no init field named computed, nope"):
            messages(WithDefault, nope=st.just(1), computed=st.just("y"))

    def test_a_class_that_is_no_dataclass_is_a_type_error(self) -> None:
        """Only dataclasses are built."""
        with pytest.raises(TypeError, match="needs a dataclass"):
            messages(Opaque)


class TestAnyMessage:
    def test_draws_each_of_the_classes(self) -> None:
        """Every class given is drawn."""
        classes: tuple[type[Command], ...] = (AddItem, ChangeNote)
        for cls in classes:
            found = find(
                any_message(AddItem, ChangeNote),
                instance_of(cls),
                settings=settings(database=None),
            )
            assert isinstance(found, cls)

    def test_needs_a_class(self) -> None:
        """No class at all is a TypeError."""
        with pytest.raises(TypeError, match="at least one"):
            any_message()


class TestSampleStrategies:
    @given(items())
    def test_items_use_the_sample_skus(self, item: Item) -> None:
        """Items draw their sku from a few products and a quantity from 0 to 100."""
        assert item.sku in SKUS
        assert 0 <= item.qty <= 100

    @given(baskets(max_items=2))
    def test_baskets_are_new_with_distinct_items(self, basket: Basket) -> None:
        """A basket is new (version 0, no events), with items of distinct skus."""
        skus = [item.sku for item in basket.items]
        assert len(skus) == len(set(skus)) <= 2
        assert (basket.version, basket.events) == (0, [])
        assert basket.ref
        assert "\x00" not in basket.ref + basket.note

    @given(basket_commands(refs=["only"]))
    def test_commands_use_the_refs_given(self, command: Command) -> None:
        """Every command names one of the refs given."""
        assert getattr(command, "ref", None) == "only"

    def test_commands_cover_the_sample(self) -> None:
        """Each sample command is drawn."""
        classes: tuple[type[Command], ...] = (CreateBasket, AddItem, SetQty, ChangeNote)
        for cls in classes:
            found = find(
                basket_commands(),
                instance_of(cls),
                settings=settings(database=None),
            )
            assert isinstance(found, cls)

    @given(st.lists(basket_commands(), max_size=20))
    def test_the_sample_handlers_do_what_the_domain_does(self, commands: list[Command]) -> None:
        """Commands through the bus store what the domain methods make, one version per change."""
        store = InMemoryStore()
        bus = bootstrap(uow=lambda: InMemoryBasketUnitOfWork(store), handlers=HANDLERS)
        expected: dict[str, tuple[Basket, int]] = {}
        for command in commands:
            try:
                bus.handle(command)
            except (KeyError, ValueError):
                continue
            apply(expected, command)
        for ref, (basket, version) in expected.items():
            with InMemoryBasketUnitOfWork(store) as uow:
                stored = uow.baskets.get(ref)
                assert stored is not None
                assert (state(stored), stored.version) == (state(basket), version)


def state(basket: Basket) -> object:
    return basket.note, sorted((item.sku, item.qty) for item in basket.items)


def apply(expected: dict[str, tuple[Basket, int]], command: Command) -> None:
    """Apply a command that succeeded to plain baskets; count the versions it made."""
    if isinstance(command, CreateBasket):
        expected[command.ref] = (Basket(command.ref, command.note), 1)
        return
    assert isinstance(command, (AddItem, SetQty, ChangeNote))
    basket, version = expected[command.ref]
    before = state(basket)
    if isinstance(command, AddItem):
        basket.add_item(command.sku, command.qty)
    elif isinstance(command, SetQty):
        basket.set_qty(command.sku, command.qty)
    else:
        basket.change_note(command.note)
    expected[command.ref] = (basket, version + (state(basket) != before))
