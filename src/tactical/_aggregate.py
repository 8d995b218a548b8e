"""Entities (identity equality) and aggregates (entities that record events and carry a version)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

if TYPE_CHECKING:
    from tactical._messages import Event

__all__ = ["Aggregate", "Entity"]


class Entity:
    """A domain object with an identity that outlives changes to its attributes.

    Two entities are equal when they are of the same class and their keys are equal, and an
    entity hashes by its key. Name the attribute that holds the key when subclassing. A value
    object needs no base class: make it a frozen dataclass.

    Example:
        >>> class Batch(Entity, key="reference"):
        ...     def __init__(self, reference: str, qty: int) -> None:
        ...         self.reference = reference
        ...         self.qty = qty
        >>> Batch("b1", 10) == Batch("b1", 99)
        True
        >>> len({Batch("b1", 10), Batch("b1", 99), Batch("b2", 10)})
        2
    """

    __key__: ClassVar[str]
    """The name of the attribute that holds the entity's identity."""

    def __init_subclass__(cls, *, key: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if key is not None:
            if not key.isidentifier():
                raise TypeError(f"{cls.__qualname__}: key must name an attribute, got {key!r}")
            cls.__key__ = key

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        name = _key_name(type(self))
        return bool(getattr(self, name) == getattr(other, name))

    def __hash__(self) -> int:
        return hash((type(self), getattr(self, _key_name(type(self)))))


def _key_name(cls: type[Entity]) -> str:
    try:
        return cls.__key__
    except AttributeError:
        raise TypeError(
            f"{cls.__qualname__} declares no key: subclass it as "
            f"`class {cls.__name__}(..., key='<attribute>')`"
        ) from None


def key_of(entity: Entity) -> Any:
    """Return an entity's identity: the value of the attribute its class names as ``key``."""
    return getattr(entity, _key_name(type(entity)))


class Aggregate(Entity):
    """An entity that is a consistency boundary: it records events and carries a version.

    ``events`` holds the events recorded since the aggregate was loaded; the unit of work
    collects them when its transaction commits. ``version`` counts committed changes: a
    unit of work sets it on commit (a new aggregate is committed as version 1) and uses it to
    detect concurrent changes. Domain code appends to ``events`` and never touches ``version``.
    You need not call ``super().__init__()``: ``events`` exists before ``__init__`` runs.

    Example:
        >>> from dataclasses import dataclass
        >>> from tactical import Event
        >>> @dataclass(frozen=True)
        ... class Renamed(Event):
        ...     name: str
        >>> class Customer(Aggregate, key="email"):
        ...     def __init__(self, email: str, name: str) -> None:
        ...         self.email = email
        ...         self.name = name
        ...
        ...     def rename(self, name: str) -> None:
        ...         self.name = name
        ...         self.events.append(Renamed(name))
        >>> customer = Customer("ada@example.com", "Ada")
        >>> customer.rename("Ada L.")
        >>> customer.events, customer.version
        ([Renamed(name='Ada L.')], 0)
    """

    version: int = 0
    events: list[Event]

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:  # noqa: ARG004 - the signature is __init__'s
        self = super().__new__(cls)
        self.events = []
        return self
