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
from typing import TYPE_CHECKING, Any, TypeVar

from tactical._aggregate import Aggregate

if TYPE_CHECKING:
    from collections.abc import Callable

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
    fields = _plan_of(type(a)).fields
    if fields is not None and _immutable(a, fields):
        return a == b
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
    container = _CONTAINERS.get(kind)
    if container is None:
        for base, cloner in _CONTAINERS.items():
            if isinstance(value, base):
                container = cloner
                break
        else:
            if isinstance(value, (enum.Enum, type)) or callable(value):
                return value
            return _clone_object(value, memo)
    return container(value, memo)


def _clone_list(value: list[Any], memo: dict[int, Any]) -> list[Any]:
    copied: list[Any] = []
    memo[id(value)] = copied
    copied.extend([_clone(item, memo) for item in value])
    return copied


def _clone_dict(value: dict[Any, Any], memo: dict[int, Any]) -> dict[Any, Any]:
    copied: dict[Any, Any] = {}
    memo[id(value)] = copied
    copied.update([(_clone(k, memo), _clone(v, memo)) for k, v in value.items()])
    return copied


def _clone_set(value: set[Any], memo: dict[int, Any]) -> set[Any]:
    copied: set[Any] = set()
    memo[id(value)] = copied
    copied.update([_clone(item, memo) for item in value])
    return copied


def _clone_tuple(value: tuple[Any, ...], memo: dict[int, Any]) -> tuple[Any, ...]:
    items = [_clone(item, memo) for item in value]
    copied = tuple(items) if type(value) is tuple else type(value)(*items)  # a named tuple
    memo[id(value)] = copied
    return copied


def _clone_frozenset(value: frozenset[Any], memo: dict[int, Any]) -> frozenset[Any]:
    copied = frozenset([_clone(item, memo) for item in value])
    memo[id(value)] = copied
    return copied


_CONTAINERS: dict[type[Any], Callable[[Any, dict[int, Any]], Any]] = {
    list: _clone_list,
    dict: _clone_dict,
    set: _clone_set,
    tuple: _clone_tuple,
    frozenset: _clone_frozenset,
}


class _Plan:
    """How to copy instances of one class, worked out once per class."""

    __slots__ = ("aggregate", "fields", "manager", "slots")

    def __init__(self, cls: type[Any]) -> None:
        self.manager = getattr(cls, "_sa_class_manager", None)
        self.aggregate = issubclass(cls, Aggregate)
        self.slots = _slots_of(cls)
        params = getattr(cls, "__dataclass_params__", None)
        # A frozen dataclass whose fields all hold atomic values is immutable: share it.
        frozen = params is not None and params.frozen and self.manager is None
        self.fields = tuple(cls.__dataclass_fields__) if frozen else None


_PLANS: dict[type[Any], _Plan] = {}


def _plan_of(cls: type[Any]) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _Plan(cls)
    return plan


def _immutable(value: Any, fields: tuple[str, ...]) -> bool:
    return all(type(getattr(value, name, None)) in _ATOMIC for name in fields)


def _clone_object(value: Any, memo: dict[int, Any]) -> Any:
    cls = type(value)
    plan = _plan_of(cls)
    if plan.fields is not None and _immutable(value, plan.fields):
        return value
    manager = plan.manager
    # A class that SQLAlchemy maps must be instantiated through its manager to get a state.
    copied = manager.new_instance() if manager is not None else object.__new__(cls)
    memo[id(value)] = copied
    attributes = getattr(value, "__dict__", None)
    if attributes is not None:
        if manager is None:
            target = copied.__dict__
            for name, item in attributes.items():
                target[name] = item if type(item) in _ATOMIC else _clone(item, memo)
            if plan.aggregate:
                target["events"] = []
        else:
            for name, item in _attributes(value).items():
                setattr(copied, name, _clone(item, memo))
    for name in plan.slots:
        item = getattr(value, name, _MISSING)
        if item is not _MISSING:
            object.__setattr__(copied, name, _clone(item, memo))
    if plan.aggregate and manager is not None:
        copied.events = []
    return copied
