"""`clone` copies object graphs privately and `same_state` tells whether one changed.

The in-memory unit of work relies on both: a transaction works on a clone of the committed
snapshot, and at commit an aggregate is written only when it no longer has the snapshot's
state. So a clone must hold the same state, share nothing mutable with the original, keep
aliasing, and any change anywhere inside it must show.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tactical import Aggregate, Entity, Event
from tactical._state import clone, same_state


@dataclass(frozen=True)
class Point:
    """An immutable value object."""

    x: int
    label: str


@dataclass(frozen=True)
class Box:
    """A frozen dataclass that may still hold something mutable."""

    content: object


class Pair(NamedTuple):
    left: object
    right: object


class Node(Entity, key="name"):
    """An entity: equal by name, so only its insides tell whether it changed."""

    def __init__(self, name: str, value: object) -> None:
        self.name = name
        self.value = value


class Slotted:
    __slots__ = ("first", "second")

    def __init__(self, first: object, second: object) -> None:
        self.first = first
        self.second = second


class OneSlot:
    __slots__ = "only"  # noqa: PLC0205 - a lone string is legal and must work too
    only: int


class Colour(enum.Enum):
    RED = 1


@dataclass(frozen=True)
class Noted(Event):
    text: str


class Account(Aggregate, key="ident"):
    def __init__(self, ident: str, balance: int) -> None:
        self.ident = ident
        self.balance = balance


class Marker:
    """A value no generated structure contains."""


ATOMS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=4)
    | st.binary(max_size=4)
    | st.dates()
    | st.datetimes()
    | st.decimals(allow_nan=False)
    | st.uuids()
    | st.sampled_from([Colour.RED, int, len])
)
HASHABLES = st.recursive(
    ATOMS | st.builds(Point, st.integers(), st.text(max_size=3)),
    lambda inner: st.tuples(inner, inner) | st.lists(inner, max_size=3).map(frozenset),
    max_leaves=6,
)
NAMES = st.text(max_size=3)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # Sets and dicts are built from lists: unique collections retry through a filter, and
    # Hypothesis then takes the repr of the (deeply nested) element strategy, which it warns of.
    return (
        st.lists(inner, max_size=4)
        | st.lists(st.tuples(HASHABLES, inner), max_size=4).map(dict)
        | st.lists(HASHABLES, max_size=4).map(set)
        | st.lists(st.builds(Node, NAMES, inner), max_size=3).map(set)
        | st.tuples(inner, inner)
        | st.builds(Pair, inner, inner)
        | st.builds(Box, inner)
        | st.builds(Node, NAMES, inner)
        | st.builds(Slotted, inner, inner)
    )


VALUES = st.recursive(ATOMS | HASHABLES, _containers, max_leaves=20)
MUTABLES = st.one_of(
    st.lists(VALUES, max_size=3),
    st.lists(st.tuples(HASHABLES, VALUES), max_size=3).map(dict),
    st.builds(Node, NAMES, VALUES),
    st.builds(Slotted, VALUES, VALUES),
)


def children(value: object) -> list[object]:
    """The values directly inside ``value``."""
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    if isinstance(value, Box):
        return [value.content]
    if isinstance(value, Node):
        return [value.name, value.value]
    if isinstance(value, Slotted):
        return [value.first, value.second]
    return []


def mutable_parts(root: object) -> list[object]:
    """Every distinct mutable object reachable from ``root``, in a stable order."""
    found: dict[int, object] = {}
    stack = [root]
    while stack:
        value = stack.pop()
        if isinstance(value, (list, dict, set, Node, Slotted)):
            if id(value) in found:
                continue
            found[id(value)] = value
        stack.extend(reversed(children(value)))
    return list(found.values())


def mutate(part: object) -> None:
    """Change ``part`` in a way that no two states can share."""
    if isinstance(part, list):
        part.append(Marker())
    elif isinstance(part, dict):
        part[Marker()] = None
    elif isinstance(part, set):
        part.add(Marker())
    elif isinstance(part, Node):
        part.value = Marker()
    else:
        assert isinstance(part, Slotted)
        part.second = Marker()


class TestCloneProperties:
    @given(VALUES)
    def test_a_clone_has_the_same_state(self, value: object) -> None:
        """Whatever the structure, its clone holds the same state."""
        assert same_state(value, clone(value))
        assert same_state(clone(value), value)

    @given(VALUES)
    def test_a_clone_shares_no_mutable_part(self, value: object) -> None:
        """No list, dict, set or entity of the clone is an object of the original."""
        originals = {id(part) for part in mutable_parts(value)}
        copies = mutable_parts(clone(value))
        assert len(copies) == len(originals)
        assert originals.isdisjoint(id(part) for part in copies)

    @given(MUTABLES)
    def test_aliasing_survives_a_clone(self, shared: object) -> None:
        """An object referenced twice in the original is one object in the clone."""
        original = (shared, {"again": shared}, Node("n", shared))
        first, mapping, node = clone(original)
        assert first is not shared
        assert first is mapping["again"]
        assert first is node.value

    @given(VALUES, st.data())
    def test_changing_any_nested_mutable_value_shows(
        self, value: object, data: st.DataObject
    ) -> None:
        """A change anywhere inside a clone makes it differ, and leaves the original alone."""
        changed, untouched = clone(value), clone(value)
        parts = mutable_parts(changed)
        if not parts:
            return
        mutate(data.draw(st.sampled_from(parts), label="mutated part"))
        assert not same_state(value, changed)
        assert not same_state(changed, value)
        assert same_state(value, untouched)


class TestSameState:
    @pytest.mark.parametrize(
        ("first", "second"),
        [
            (1, True),
            (1, 1.0),
            (1, 2),
            ("a", b"a"),
            ([1], (1,)),
            ((1,), [1]),
            ([1, 2], [1]),
            ({"a": 1}, {"b": 1}),
            ({"a": 1}, {"a": 2}),
            ({"a": 1}, [("a", 1)]),
            ({1, 2}, {1, 3}),
            ({1, 2}, {1}),
            ({1}, [1]),
            (Point(1, "a"), Point(1, "b")),
            (Node("n", 1), Node("n", 2)),
            (Node("n", 1), Slotted(1, 2)),
            (Slotted(1, [2]), Slotted(1, [3])),
            (Colour.RED, 1),
            (int, str),
        ],
    )
    def test_different_states_differ(self, first: object, second: object) -> None:
        """Values of other types, lengths, keys or contents are not the same state."""
        assert not same_state(first, second)

    def test_entities_in_sets_pair_by_key_and_compare_insides(self) -> None:
        """An entity in a set is matched with its equal partner, whose insides must agree."""
        assert same_state({Node("a", [1]), Node("b", 2)}, {Node("b", 2), Node("a", [1])})
        assert not same_state({Node("a", [1])}, {Node("a", [2])})

    def test_an_atomic_value_of_any_type_is_its_own_copy(self) -> None:
        """Strings, numbers, dates, decimals, uuids, enums, classes and functions are shared."""
        atoms: list[object] = [
            "s",
            b"b",
            1,
            1.5,
            2j,
            None,
            decimal.Decimal("1.10"),
            dt.date(2024, 1, 1),
            dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            dt.time(1),
            dt.timedelta(1),
            uuid.UUID(int=1),
            range(3),
            Colour.RED,
            Node,
            len,
        ]
        for atom in atoms:
            assert clone(atom) is atom
            assert same_state(atom, clone(atom))

    def test_unset_slots_are_state_too(self) -> None:
        """A slot left unset matches an unset slot, and differs from a set one."""
        empty, filled = OneSlot(), OneSlot()
        filled.only = 1
        assert same_state(empty, clone(empty))
        assert not hasattr(clone(empty), "only")
        assert not same_state(empty, filled)
        assert clone(filled).only == 1

    def test_a_bare_object_holds_no_state(self) -> None:
        """Two bare ``object()`` instances hold the same (empty) state, and clone shares one."""
        anything = object()
        assert same_state(anything, object())
        assert clone(anything) is anything


class TestAggregateState:
    def test_pending_events_are_not_state(self) -> None:
        """An aggregate whose only difference is its pending events is unchanged."""
        account = Account("a1", 10)
        recorded = clone(account)
        account.events.append(Noted("hello"))
        assert same_state(account, recorded)
        assert same_state(recorded, account)

    def test_a_clone_starts_without_events(self) -> None:
        """A clone of an aggregate has an empty event list of its own."""
        account = Account("a1", 10)
        account.events.append(Noted("hello"))
        copied = clone(account)
        assert copied.events == []
        assert copied.events is not account.events
        assert account.events == [Noted("hello")]

    def test_version_and_attributes_are_state(self) -> None:
        """A changed attribute or version makes an aggregate differ from its snapshot."""
        account = Account("a1", 10)
        changed = clone(account)
        changed.balance = 11
        bumped = clone(account)
        bumped.version = 1
        assert not same_state(account, changed)
        assert not same_state(account, bumped)


class TestInstrumentedClasses:
    def test_sqlalchemy_bookkeeping_attributes_are_not_state(self) -> None:
        """Attributes named ``_sa_*`` are ignored by `same_state`."""
        node, other = Node("n", 1), Node("n", 1)
        node._sa_instance_state = object()  # type: ignore[attr-defined]
        other._sa_instance_state = object()  # type: ignore[attr-defined]
        assert same_state(node, other)

    def test_a_mapped_class_is_copied_through_its_manager(self) -> None:
        """A class with a ``_sa_class_manager`` is created by it and filled with setattr."""
        created: list[object] = []
        assigned: list[str] = []

        class Manager:
            def new_instance(self) -> Mapped:
                instance = object.__new__(Mapped)
                created.append(instance)
                return instance

        class Mapped(Aggregate, key="ident"):
            _sa_class_manager = Manager()

            def __init__(self, ident: str, items: list[int]) -> None:
                self.ident = ident
                self.items = items

            def __setattr__(self, name: str, value: object) -> None:
                assigned.append(name)
                super().__setattr__(name, value)

        original = Mapped("m", [1, 2])
        original._sa_instance_state = "bookkeeping"
        original.events.append(Noted("x"))
        assigned.clear()
        copied = clone(original)
        assert created == [copied]
        assert {"ident", "items", "events"} <= set(assigned)
        assert "_sa_instance_state" not in vars(copied)
        assert copied.items == [1, 2]
        assert copied.items is not original.items
        assert copied.events == []
        assert same_state(original, copied)


class TestGraphsAndContainers:
    def test_a_cyclic_graph_compares_with_its_clone(self) -> None:
        """A graph with a back-reference (child to parent) has the same state as its clone."""
        parent = Node("parent", None)
        parent.value = Node("child", parent)
        copied = clone(parent)
        assert isinstance(copied.value, Node)
        assert copied.value.value is copied
        assert same_state(parent, copied)

    def test_a_change_inside_an_entity_used_as_a_dict_key_shows(self) -> None:
        """An entity used as a dict key is state: changing its insides is a change."""
        original = {Node("n", 1): "x"}
        copied = clone(original)
        next(iter(copied)).value = 2
        assert not same_state(original, copied)

    def test_a_dict_subclass_keeps_its_type(self) -> None:
        """A defaultdict inside an aggregate is still a defaultdict in the clone."""
        original = Node("n", defaultdict(list))
        assert type(clone(original).value) is defaultdict

    def test_a_sentinel_attribute_is_unchanged_state(self) -> None:
        """An ``object()`` sentinel held by an entity does not make its clone differ."""
        original = Node("n", object())
        assert same_state(original, clone(original))

    def test_a_deque_and_a_counter_are_copied_with_their_type(self) -> None:
        """A deque keeps its maxlen and a Counter its type; changing either copy is a change."""
        original = Node("n", [deque([1, 2], maxlen=3), Counter("aab")])
        copied = clone(original)
        assert isinstance(copied.value, list)
        queue, counts = copied.value
        assert type(queue) is deque
        assert queue.maxlen == 3
        assert type(counts) is Counter
        assert same_state(original, copied)
        queue.append(3)
        assert not same_state(original, copied)

    def test_a_bytearray_is_copied(self) -> None:
        """A bytearray is mutable state: the clone owns its own."""
        original = Node("n", bytearray(b"ab"))
        copied = clone(original)
        assert isinstance(copied.value, bytearray)
        copied.value[0] = 0
        assert original.value == bytearray(b"ab")
        assert not same_state(original, copied)


class Gadget(Aggregate, key="code"):
    def __init__(self, code: str, qty: int) -> None:
        self.code = code
        self.qty = qty


class TestClassesMappedLater:
    def test_the_fake_keeps_working_when_a_class_is_mapped_and_unmapped(self) -> None:
        """Tests on the fake may run before and after others map the same class with SQLAlchemy."""
        from sqlalchemy import Column, Integer, String, Table
        from sqlalchemy.orm import registry

        from tactical import InMemoryStore, InMemoryUnitOfWork
        from tactical.sqlalchemy import map_aggregate, version_column

        store = InMemoryStore()

        def add_and_change(code: str) -> None:
            with InMemoryUnitOfWork(store) as uow:
                uow.repository(Gadget).add(Gadget(code, 1))
                uow.commit()
            with InMemoryUnitOfWork(store) as uow:
                gadget = uow.repository(Gadget).get(code)
                assert gadget is not None
                gadget.qty += 1
                uow.commit()

        add_and_change("before")
        mappers = registry()
        table = Table(
            "gadgets",
            mappers.metadata,
            Column("code", String(10), primary_key=True),
            Column("qty", Integer),
            version_column(),
        )
        map_aggregate(mappers, Gadget, table)
        try:
            add_and_change("mapped")
        finally:
            mappers.dispose()
        add_and_change("after")
        assert [store.version_of(Gadget, code) for code in store.keys(Gadget)] == [2, 2, 2]
