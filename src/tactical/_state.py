"""Copying and comparing object graphs, looking inside entities.

The in-memory unit of work hands out private copies of committed aggregates and, at commit,
compares each with the snapshot it was loaded from. Entities compare by identity, so ``==``
cannot tell whether a child changed: these functions walk attributes, containers and slots.

They work on plain classes and on classes that SQLAlchemy instruments (attributes whose name
starts with ``_sa_`` are bookkeeping, not state), so one domain model can be used with the fake
and with the database in the same process.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from typing import Any, TypeVar

from tactical._aggregate import Aggregate

__all__ = ["clone", "same_state"]

T = TypeVar("T")

_ATOMIC: frozenset[type[Any]] = frozenset(
    {
        str,
        int,
        float,
        bool,
        bytes,
        complex,
        type(None),
        decimal.Decimal,
        dt.date,
        dt.datetime,
        dt.time,
        dt.timedelta,
        uuid.UUID,
        range,
    }
)
_MISSING: Any = object()


def _is_atomic(value: object) -> bool:
    kind = type(value)
    return kind in _ATOMIC or isinstance(value, (enum.Enum, type)) or callable(value)


def same_state(a: object, b: object) -> bool:
    """Whether two object graphs hold the same state. Pending aggregate events are not state."""
    if a is b:
        return True
    kind = type(a)
    if kind in _ATOMIC:
        return kind is type(b) and a == b
    if isinstance(a, (list, tuple)):
        return (
            isinstance(b, (list, tuple))
            and isinstance(b, tuple) == isinstance(a, tuple)
            and len(a) == len(b)
            and all(map(same_state, a, b))
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and _same_mapping(a, b)
    if isinstance(a, (set, frozenset)):
        return isinstance(b, (set, frozenset)) and _same_set(a, b)
    if kind is not type(b):
        return False
    if _is_atomic(a):
        return a == b
    return _same_object(a, b)


def _same_mapping(a: dict[Any, Any], b: dict[Any, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    return all(same_state(value, b[name]) for name, value in a.items())


def _same_set(a: set[Any] | frozenset[Any], b: set[Any] | frozenset[Any]) -> bool:
    if len(a) != len(b):
        return False
    # Elements pair by equality (an entity's key); their insides are then compared in turn.
    partners = {item: item for item in b}
    for item in a:
        partner = partners.get(item, _MISSING)
        if partner is _MISSING or not same_state(item, partner):
            return False
    return True


def _same_object(a: object, b: object) -> bool:
    if hasattr(a, "__dict__") and not _same_mapping(_attributes(a), _attributes(b)):
        return False
    slots = _slots_of(type(a))
    if slots:
        return all(
            same_state(getattr(a, name, _MISSING), getattr(b, name, _MISSING)) for name in slots
        )
    return hasattr(a, "__dict__") or a == b


def _attributes(obj: object) -> dict[str, Any]:
    attributes = vars(obj)
    skip_events = isinstance(obj, Aggregate)
    return {
        name: value
        for name, value in attributes.items()
        if not name.startswith("_sa_") and not (skip_events and name == "events")
    }


_SLOTS: dict[type[Any], tuple[str, ...]] = {}


def _slots_of(cls: type[Any]) -> tuple[str, ...]:
    known = _SLOTS.get(cls)
    if known is not None:
        return known
    names: list[str] = []
    for klass in cls.__mro__:
        declared = klass.__dict__.get("__slots__", ())
        if isinstance(declared, str):
            declared = (declared,)
        names.extend(name for name in declared if name not in {"__dict__", "__weakref__"})
    _SLOTS[cls] = tuple(names)
    return _SLOTS[cls]


def clone(value: T) -> T:
    """Copy an object graph deeply, keeping shared references shared; events are not copied."""
    return _clone(value, {})  # type: ignore[no-any-return]


def _clone(value: Any, memo: dict[int, Any]) -> Any:
    kind = type(value)
    if kind in _ATOMIC:
        return value
    done = memo.get(id(value), _MISSING)
    if done is not _MISSING:
        return done
    copied: Any
    if isinstance(value, list):
        copied = memo[id(value)] = []
        copied.extend(_clone(item, memo) for item in value)
    elif isinstance(value, tuple):
        copied = tuple(_clone(item, memo) for item in value)
        if kind is not tuple:  # a named tuple
            copied = kind(*copied)
    elif isinstance(value, dict):
        copied = memo[id(value)] = {}
        copied.update((_clone(k, memo), _clone(v, memo)) for k, v in value.items())
    elif isinstance(value, set):
        copied = memo[id(value)] = set()
        copied.update(_clone(item, memo) for item in value)
    elif isinstance(value, frozenset):
        copied = frozenset(_clone(item, memo) for item in value)
    elif _is_atomic(value):
        return value
    else:
        return _clone_object(value, memo)
    memo[id(value)] = copied
    return copied


def _clone_object(value: Any, memo: dict[int, Any]) -> Any:
    cls = type(value)
    # A class that SQLAlchemy maps must be instantiated through its manager to get a state.
    manager = getattr(cls, "_sa_class_manager", None)
    copied = manager.new_instance() if manager is not None else object.__new__(cls)
    memo[id(value)] = copied
    if hasattr(value, "__dict__"):
        assign = object.__setattr__ if manager is None else setattr
        for name, item in _attributes(value).items():
            assign(copied, name, _clone(item, memo))
    for name in _slots_of(cls):
        item = getattr(value, name, _MISSING)
        if item is not _MISSING:
            object.__setattr__(copied, name, _clone(item, memo))
    if isinstance(copied, Aggregate):
        copied.events = []
    return copied
