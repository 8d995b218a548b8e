"""Hypothesis strategies: messages built from their type hints, and the sample domain."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import types
import typing
import uuid
from typing import TYPE_CHECKING, Any, TypeVar

from hypothesis import strategies as st

from tactical.testing.sample import AddItem, Basket, ChangeNote, CreateBasket, Item, SetQty

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from hypothesis.strategies import SearchStrategy

    from tactical._messages import Command, Message

_REGISTERED: Mapping[object, object] = {}
"""Where `st.register_type_strategy` keeps its registrations (empty if Hypothesis moves it)."""
try:
    from hypothesis.strategies._internal import types as _hypothesis_types
except ImportError:  # pragma: no cover - a Hypothesis that moved it: registrations are not seen
    pass
else:
    _REGISTERED = getattr(_hypothesis_types, "_global_type_lookup", _REGISTERED)

__all__ = ["any_message", "basket_commands", "baskets", "items", "messages"]

M = TypeVar("M")

_ATOMS: Mapping[object, SearchStrategy[Any]] = {
    bool: st.booleans(),
    int: st.integers(),
    float: st.floats(allow_nan=False, allow_infinity=False),
    str: st.text(),
    bytes: st.binary(),
    decimal.Decimal: st.decimals(allow_nan=False, allow_infinity=False),
    dt.date: st.dates(),
    dt.datetime: st.datetimes(),
    dt.time: st.times(),
    dt.timedelta: st.timedeltas(),
    uuid.UUID: st.uuids(),
    type(None): st.none(),
}
"""Values that compare equal to themselves: no NaN, no infinity, so round trips can be checked."""

_COLLECTIONS: Mapping[object, Callable[..., SearchStrategy[Any]]] = {
    list: st.lists,
    set: st.sets,
    frozenset: st.frozensets,
}


class _CannotBuildError(Exception):
    """A type (at some path inside a message) that no strategy is known for."""

    def __init__(self, path: str, annotation: object) -> None:
        super().__init__(path, annotation)
        self.path = path
        self.annotation = annotation


def messages(cls: type[M], /, **fields: SearchStrategy[Any]) -> SearchStrategy[M]:
    """Build instances of a dataclass message (a command or an event) from its type hints.

    Supported field types: ``bool``, ``int``, ``float`` and ``Decimal`` (finite: no NaN, no
    infinity, so every value equals itself), ``str``, ``bytes``, ``date``, ``datetime`` (naive),
    ``time``, ``timedelta``, ``UUID``, enums, ``Literal``, ``Optional`` and other unions,
    ``tuple`` (fixed or ``tuple[X, ...]``), ``list``, ``set``, ``frozenset``, ``dict``, nested
    dataclasses, ``NewType`` and ``Annotated`` ones, and any type given a strategy with
    `hypothesis.strategies.register_type_strategy`. Pass a strategy for a field by name to
    narrow it (positive quantities, aware datetimes...).

    Args:
        cls: A dataclass, usually a frozen one subclassing `Command` or `Event`.
        **fields: Strategies for some fields, by name, instead of the inferred ones.

    Returns:
        A strategy of ``cls`` instances.

    Raises:
        TypeError: ``cls`` is not a dataclass, a name in ``fields`` is not one of its fields,
            or a field has a type no strategy is known for (the message names the field and
            says how to provide one). Raised at once, not when drawing.

    Example:
        >>> import datetime as dt
        >>> from dataclasses import dataclass
        >>> from hypothesis import given, strategies as st
        >>> from tactical import Command
        >>> @dataclass(frozen=True)
        ... class AddBatch(Command):
        ...     ref: str
        ...     qty: int
        ...     eta: dt.date | None = None
        >>> @given(messages(AddBatch, qty=st.integers(min_value=1)))
        ... def test_batches_have_stock(command: AddBatch) -> None:
        ...     assert command.qty > 0
        >>> test_batches_have_stock()
    """
    try:
        return _dataclass(cls, fields, path=getattr(cls, "__qualname__", ""), building={})
    except _CannotBuildError as error:
        name = getattr(error.annotation, "__qualname__", None) or repr(error.annotation)
        field = error.path.partition(".")[2]
        raise TypeError(
            f"messages({cls.__qualname__}) cannot build {error.path} of type "
            f"{error.annotation!r}: pass a strategy for it, "
            f"messages({cls.__qualname__}, {field.partition('.')[0]}=...), or register one "
            f"with hypothesis.strategies.register_type_strategy({name}, ...)"
        ) from None


def any_message(*classes: type[Message]) -> SearchStrategy[Message]:
    """Any message of the given dataclass types, each built by `messages`.

    Raises:
        TypeError: No class was given, or `messages` cannot build one of them.

    Example:
        >>> from hypothesis import given
        >>> from tactical.testing.sample import AddItem, ChangeNote
        >>> @given(any_message(AddItem, ChangeNote))
        ... def test_every_command_names_a_basket(command: AddItem | ChangeNote) -> None:
        ...     assert isinstance(command.ref, str)
        >>> test_every_command_names_a_basket()
    """
    if not classes:
        raise TypeError("any_message() needs at least one message class")
    return st.one_of([messages(cls) for cls in classes])


def _dataclass(
    cls: type[M],
    overrides: Mapping[str, SearchStrategy[Any]],
    *,
    path: str,
    building: Mapping[type[Any], SearchStrategy[Any]],
) -> SearchStrategy[M]:
    target: object = cls
    if not (isinstance(target, type) and dataclasses.is_dataclass(target)):
        raise TypeError(f"messages() needs a dataclass, got {cls!r}")
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except NameError as error:
        raise TypeError(
            f"messages({cls.__qualname__}): cannot resolve a type hint: {error}"
        ) from None
    names = [field.name for field in dataclasses.fields(target) if field.init]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise TypeError(f"messages({cls.__qualname__}): no init field named {', '.join(unknown)}")
    built: list[SearchStrategy[M]] = []
    # What a field of this very type (a recursive message) draws from, once it is built.
    inner = {**building, cls: st.deferred(lambda: built[0])}
    kwargs = {
        name: overrides[name]
        if name in overrides
        else _strategy(hints[name], path=f"{path}.{name}", building=inner)
        for name in names
    }
    built.append(st.builds(cls, **kwargs))
    return built[0]


def _strategy(
    annotation: Any, *, path: str, building: Mapping[type[Any], SearchStrategy[Any]]
) -> SearchStrategy[Any]:
    atom = _ATOMS.get(annotation)
    if atom is not None:
        return atom
    if annotation in _REGISTERED:
        return st.from_type(annotation)
    if typing.get_origin(annotation) is not None:
        return _generic(annotation, path=path, building=building)
    supertype = getattr(annotation, "__supertype__", None)
    if supertype is not None:  # a typing.NewType
        return _strategy(supertype, path=path, building=building)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return st.sampled_from(annotation)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        recursive = building.get(annotation)
        if recursive is not None:
            return recursive
        return _dataclass(annotation, {}, path=path, building=building)
    raise _CannotBuildError(path, annotation)


def _generic(
    annotation: Any, *, path: str, building: Mapping[type[Any], SearchStrategy[Any]]
) -> SearchStrategy[Any]:
    """A strategy for a parametrized type: ``X | None``, ``tuple[X, ...]``, ``Literal``..."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is typing.Annotated:
        return _strategy(args[0], path=path, building=building)
    parts = [_strategy(arg, path=path, building=building) for arg in args if arg is not Ellipsis]
    if origin is typing.Union or origin is types.UnionType:
        return st.one_of(parts)
    # A collection of a message's own type (a tree) stays small, or drawing never ends.
    recursive = any(part is proxy for part in parts for proxy in building.values())
    max_size = 2 if recursive else None
    if origin is tuple and parts:
        if Ellipsis in args:
            return st.lists(parts[0], max_size=max_size).map(tuple)
        return st.tuples(*parts)
    if origin in _COLLECTIONS and len(parts) == 1:
        return _COLLECTIONS[origin](parts[0], max_size=max_size)
    if origin is dict and len(parts) == 2:  # noqa: PLR2004 - dict[K, V]
        return st.dictionaries(parts[0], parts[1])
    raise _CannotBuildError(path, annotation)


_CHARACTERS = st.characters(codec="utf-8", exclude_characters="\x00")
"""Characters that every database stores as they are: no NUL, no lone surrogate."""

SKUS = ("sku-1", "sku-2", "sku-3")
"""The products the sample strategies draw from: few, so that items and commands collide."""

REFS = ("b-1", "b-2", "b-3")
"""The basket references `basket_commands` draws from."""


_SKU = st.sampled_from(SKUS)
_QTY = st.integers(min_value=0, max_value=100)
_REF_TEXT = st.text(_CHARACTERS, min_size=1, max_size=12)
_NOTE_TEXT = st.text(_CHARACTERS, max_size=12)


def items(
    *, skus: SearchStrategy[str] = _SKU, qty: SearchStrategy[int] = _QTY
) -> SearchStrategy[Item]:
    """Sample `Item`s.

    Args:
        skus: The strategy of item keys.
        qty: The strategy of quantities.

    Example:
        >>> from hypothesis import given
        >>> @given(items())
        ... def test_sample_skus(item: Item) -> None:
        ...     assert item.sku in SKUS
        >>> test_sample_skus()
    """
    return st.builds(Item, skus, qty)


def baskets(
    *,
    refs: SearchStrategy[str] = _REF_TEXT,
    notes: SearchStrategy[str] = _NOTE_TEXT,
    max_items: int = 3,
) -> SearchStrategy[Basket]:
    """New sample `Basket`s (version 0, no events) with items of distinct skus.

    The default text contains no NUL character, so any database can store it unchanged.

    Args:
        refs: The strategy of keys.
        notes: The strategy of notes.
        max_items: The most items in one basket.

    Example:
        >>> from hypothesis import given
        >>> @given(baskets())
        ... def test_each_item_once(basket: Basket) -> None:
        ...     skus = [item.sku for item in basket.items]
        ...     assert len(skus) == len(set(skus))
        >>> test_each_item_once()
    """
    return st.builds(
        Basket,
        refs,
        notes,
        st.lists(items(), max_size=max_items, unique_by=lambda item: item.sku),
    )


def basket_commands(
    *, refs: Sequence[str] = REFS, skus: Sequence[str] = SKUS
) -> SearchStrategy[Command]:
    """Commands of the sample domain over a few baskets and products, so that they interact.

    Handled in sequence by a bus with the sample's ``HANDLERS``, some of them fail on
    purpose (a `SetQty` of a missing item, a `CreateBasket` of an existing basket): use them
    to compare two units of work (say the fake and a database) command by command.

    Args:
        refs: The basket keys to draw from.
        skus: The products to draw from.

    Example:
        >>> from hypothesis import given, strategies as st
        >>> from tactical import InMemoryStore, bootstrap
        >>> from tactical.testing.sample import HANDLERS, InMemoryBasketUnitOfWork
        >>> @given(st.lists(basket_commands()))
        ... def test_no_unexpected_error(commands) -> None:
        ...     store = InMemoryStore()
        ...     bus = bootstrap(uow=lambda: InMemoryBasketUnitOfWork(store), handlers=HANDLERS)
        ...     for command in commands:
        ...         try:
        ...             bus.handle(command)
        ...         except (KeyError, ValueError):
        ...             pass  # no such basket or item, or a basket that exists
        >>> test_no_unexpected_error()
    """
    ref, sku = st.sampled_from(refs), st.sampled_from(skus)
    qty, note = st.integers(min_value=1, max_value=5), st.sampled_from(("", "gift", "urgent"))
    return st.one_of(
        st.builds(CreateBasket, ref, note),
        st.builds(AddItem, ref, sku, qty),
        st.builds(SetQty, ref, sku, qty),
        st.builds(ChangeNote, ref, note),
    )
