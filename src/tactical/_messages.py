"""Marker base classes for the messages that flow through a message bus."""

from __future__ import annotations

__all__ = ["Command", "Event", "Message"]


class Message:
    """A command or an event: the base of everything a [`MessageBus`][tactical.MessageBus] handles.

    Messages are plain data. Declare them as frozen dataclasses whose fields are primitives or
    value objects, never entities, so they can cross a process boundary. Subclass
    [`Command`][tactical.Command] or [`Event`][tactical.Event], not `Message` itself: the bus
    treats the two differently.

    Example:
        >>> from tactical import Command, Event, Message
        >>> issubclass(Command, Message) and issubclass(Event, Message)
        True
    """

    __slots__ = ()


class Command(Message):
    """A request to change the system, named in the imperative (`Allocate`, `CreateBatch`).

    A command has exactly one handler, and its failure reaches whoever sent it.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class Allocate(Command):
        ...     orderid: str
        ...     sku: str
        ...     qty: int
        >>> Allocate("o1", "LAMP", 2)
        Allocate(orderid='o1', sku='LAMP', qty=2)
    """

    __slots__ = ()


class Event(Message):
    """A fact that happened, named in the past tense (`Allocated`, `OutOfStock`).

    An event has any number of handlers (none is fine); a failing handler is retried, logged
    and dead-lettered while the others still run.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass(frozen=True)
        ... class OutOfStock(Event):
        ...     sku: str
        >>> OutOfStock("LAMP")
        OutOfStock(sku='LAMP')
    """

    __slots__ = ()
