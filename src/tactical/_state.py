"""Copying and comparing object graphs, looking inside entities.

The in-memory unit of work hands out private copies of committed aggregates and, at commit,
compares each with the snapshot it was loaded from. Entities compare by identity, so ``==``
cannot tell whether a child changed: these functions walk attributes, containers and slots.

They work on plain classes and on classes that SQLAlchemy instruments (attributes whose name
starts with ``_sa_`` are bookkeeping, not state), so one domain model can be used with the fake
and with the database in the same process.
"""

from __future__ import annotations

import collections
import enum
from typing import TYPE_CHECKING, Any, TypeVar

from tactical._aggregate import Aggregate

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["clone", "same_state"]

T = TypeVar("T")

# Types whose instances hold no mutable state: shared by copies, compared with ``==``. Value
# types of the standard library are learnt on first sight, by their module, so that importing
# tactical does not import datetime, decimal and uuid.
_ATOMIC: set[type[Any]] = {str, int, float, bool, bytes, complex, type(None), range}
_VALUE_MODULES = frozenset({"datetime", "decimal", "fractions", "uuid", "ipaddress", "zoneinfo"})
_MISSING: Any = object()


def _is_atomic(value: object) -> bool:
    kind = type(value)
    if kind in _ATOMIC:
        return True
    if kind.__module__ in _VALUE_MODULES:
        _ATOMIC.add(kind)
        return True
    return isinstance(value, (enum.Enum, type)) or callable(value)


def same_state(a: object, b: object) -> bool:
    """Whether two object graphs hold the same state. Pending aggregate events are not state."""
    return _same(a, b, set())


_SEQUENCES = (list, tuple, collections.deque)


def _same(a: object, b: object, busy: set[tuple[int, int]]) -> bool:
    if a is b:
        return True
    kind = type(a)
    if kind in _ATOMIC:
        return kind is type(b) and a == b
    if type(b) is not kind:
        return False
    # A pair already being compared further up is assumed equal: cycles end here.
    pair = (id(a), id(b))
    if pair in busy:
        return True
    busy.add(pair)
    try:
        if isinstance(a, _SEQUENCES):
            return len(a) == len(b) and all(_same(x, y, busy) for x, y in zip(a, b, strict=True))  # type: ignore[call-overload, arg-type]
        if isinstance(a, dict):
            return _same_mapping(a, b, busy)  # type: ignore[arg-type]
        if isinstance(a, (set, frozenset)):
            return _same_set(a, b, busy)  # type: ignore[arg-type]
        if _is_atomic(a):
            return a == b
        return _same_object(a, b, busy)
    finally:
        busy.discard(pair)


def _same_mapping(a: dict[Any, Any], b: dict[Any, Any], busy: set[tuple[int, int]]) -> bool:
    if a.keys() != b.keys():
        return False
    partners: dict[Any, Any] | None = None
    for key, value in a.items():
        if type(key) not in _ATOMIC:
            # Keys pair by equality (an entity's key); their insides are compared too.
            if partners is None:
                partners = {item: item for item in b}
            if not _same(key, partners[key], busy):
                return False
        if not _same(value, b[key], busy):
            return False
    return True


def _same_set(
    a: set[Any] | frozenset[Any], b: set[Any] | frozenset[Any], busy: set[tuple[int, int]]
) -> bool:
    if len(a) != len(b):
        return False
    # Elements pair by equality (an entity's key); their insides are then compared in turn.
    partners = {item: item for item in b}
    for item in a:
        partner = partners.get(item, _MISSING)
        if partner is _MISSING or not _same(item, partner, busy):
            return False
    return True


def _same_object(a: object, b: object, busy: set[tuple[int, int]]) -> bool:
    fields = _plan_of(type(a)).fields
    if fields is not None and _immutable(a, fields):
        return a == b
    stateful = hasattr(a, "__dict__")
    if stateful and not _same_mapping(_attributes(a), _attributes(b), busy):
        return False
    slots = _slots_of(type(a))
    if slots:
        return all(
            _same(getattr(a, name, _MISSING), getattr(b, name, _MISSING), busy) for name in slots
        )
    # No attributes at all (a sentinel): nothing to compare.
    return stateful or _stateless(a) or a == b


def _stateless(value: object) -> bool:
    return type(value) is object


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
    if container is not None:
        return container(value, memo)
    if isinstance(value, (list, dict, set, collections.deque, bytearray)):
        return _clone_subclass(value, memo)
    if isinstance(value, tuple):
        return _clone_tuple(value, memo)
    if isinstance(value, frozenset):
        return _clone_frozenset(value, memo)
    if _is_atomic(value) or _stateless(value):
        return value
    return _clone_object(value, memo)


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
    copied = type(value)([_clone(item, memo) for item in value])
    memo[id(value)] = copied
    return copied


def _clone_subclass(value: Any, memo: dict[int, Any]) -> Any:
    """A subclass of a mutable builtin container (``defaultdict``, ``Counter``...) or a deque."""
    copied: Any
    if isinstance(value, bytearray):
        copied = memo[id(value)] = bytearray(value)
        return copied
    import copy  # rare: only for subclasses of the builtin containers

    # A shallow copy keeps the subclass and its settings (a default factory, a maxlen).
    copied = memo[id(value)] = copy.copy(value)
    if isinstance(value, dict):
        copied.clear()
        # dict.update, since a subclass's own update may mean something else (Counter adds).
        dict.update(copied, [(_clone(k, memo), _clone(v, memo)) for k, v in value.items()])
    else:
        copied.clear()
        items = [_clone(item, memo) for item in value]
        if isinstance(value, set):
            copied.update(items)
        else:
            copied.extend(items)
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
    # A class can be mapped (or unmapped) by SQLAlchemy after its plan was made.
    if plan is None or plan.manager is not getattr(cls, "_sa_class_manager", None):
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
