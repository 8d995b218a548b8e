"""The exceptions that tactical raises.

Every exception derives from [`TacticalError`][tactical.TacticalError], and each leaf also
derives from the builtin exception that a caller would naturally catch, so code that does not
know about tactical still handles it sensibly::

    TacticalError (Exception)
    ├── ConcurrencyError (RuntimeError)      an aggregate changed under this unit of work
    ├── TransactionError (RuntimeError)      a unit of work used outside its `with` block
    ├── PersistenceError (RuntimeError)      the database failed, and it was not a conflict
    ├── NoHandlerError (LookupError)         a command with no handler
    ├── BootstrapError (TypeError)           handlers or dependencies that cannot be wired
    ├── RegistrationError (TypeError)        a message type that cannot be registered for JSON
    ├── SerializationError (ValueError)      a message that cannot be written as JSON
    ├── DeserializationError (ValueError)    data that cannot become a registered message
    ├── BrokerError (ConnectionError)        the message broker failed or is unreachable
    └── RetryError (RuntimeError)            attempts or time ran out; keeps the last exception

Adapters translate their drivers' errors into this tree (with the driver's exception chained
as ``__cause__``), so application code never catches a driver exception.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "BootstrapError",
    "BrokerError",
    "ConcurrencyError",
    "DeserializationError",
    "DeserializationReason",
    "NoHandlerError",
    "PersistenceError",
    "RegistrationError",
    "RetryError",
    "SerializationError",
    "TacticalError",
    "TransactionError",
]


class TacticalError(Exception):
    """The root of every exception that tactical raises.

    Example:
        >>> import tactical
        >>> issubclass(tactical.ConcurrencyError, tactical.TacticalError)
        True
    """


class ConcurrencyError(TacticalError, RuntimeError):
    """Another unit of work changed the same aggregate first.

    Raised by `commit()` when an aggregate that this unit of work changed (or added) was
    committed by someone else since it was loaded. The whole command should be retried in a
    fresh unit of work: the [`MessageBus`][tactical.MessageBus] does that by itself.

    Attributes:
        aggregate_type: The class of the aggregate in conflict, when known.
        key: The key of the aggregate in conflict, when known.

    Example:
        >>> err = ConcurrencyError("Product 'LAMP' changed", aggregate_type=None, key="LAMP")
        >>> err.key
        'LAMP'
    """

    def __init__(
        self,
        message: str,
        *,
        aggregate_type: type[object] | None = None,
        key: object = None,
    ) -> None:
        super().__init__(message)
        self.aggregate_type = aggregate_type
        self.key = key


class TransactionError(TacticalError, RuntimeError):
    """A unit of work was used outside the `with` block that opens it.

    Example:
        >>> from tactical import InMemoryUnitOfWork
        >>> try:
        ...     InMemoryUnitOfWork().commit()
        ... except TransactionError as err:
        ...     print(err)
        commit() called outside the unit of work's `with` block
    """


class PersistenceError(TacticalError, RuntimeError):
    """The database failed or refused a unit of work's statement, and it was not a conflict.

    A constraint the data violates (a duplicate key of a child row, a missing parent), a
    lost connection, a missing table: retrying the command would not help, so the bus does
    not. Adapters raise it with the driver's exception chained as ``__cause__``.

    Example:
        >>> issubclass(PersistenceError, RuntimeError)
        True
    """


class NoHandlerError(TacticalError, LookupError):
    """A command was handled but no handler is registered for its type.

    Events need no handler; a command always needs exactly one.

    Attributes:
        message_type: The type of the command that had no handler.

    Example:
        >>> class Ship:
        ...     pass
        >>> str(NoHandlerError(Ship))
        'no handler for command Ship'
    """

    def __init__(self, message_type: type[object]) -> None:
        super().__init__(f"no handler for command {message_type.__qualname__}")
        self.message_type = message_type


class BootstrapError(TacticalError, TypeError):
    """Handlers and dependencies that cannot be wired together.

    Raised by [`bootstrap`][tactical.bootstrap] when it runs, never at the first message: a
    parameter that no dependency provides, two handlers for one command, a handler registered
    for something that is not a message type.

    Example:
        >>> str(BootstrapError("handler allocate() needs 'mailer', which no dependency provides"))
        "handler allocate() needs 'mailer', which no dependency provides"
    """


class RetryError(TacticalError, RuntimeError):
    """Retrying stopped (attempts or deadline exhausted); the last exception is kept.

    The last exception is also chained as ``__cause__``.

    Attributes:
        attempts: How many attempts were made.
        last_exception: The exception the last attempt raised.

    Example:
        >>> err = RetryError(3, ValueError("boom"))
        >>> (err.attempts, err.last_exception)
        (3, ValueError('boom'))
    """

    def __init__(self, attempts: int, last_exception: BaseException) -> None:
        super().__init__(
            f"gave up after {attempts} attempt(s); last error: {type(last_exception).__name__}"
        )
        self.attempts = attempts
        self.last_exception = last_exception


class RegistrationError(TacticalError, TypeError):
    """A type that a [`MessageRegistry`][tactical.MessageRegistry] cannot register.

    Raised when the type is registered, never at the first message: it is not a dataclass, a
    field's type has no JSON form, or its name (or the class) is registered already.

    Example:
        >>> str(RegistrationError("two types named 'Allocated'"))
        "two types named 'Allocated'"
    """


class SerializationError(TacticalError, ValueError):
    """A message that cannot be written as JSON.

    Its type is not registered, or a value does not match its field's declared type (a
    ``str`` in an ``int`` field, a NaN).

    Attributes:
        type_name: The message's type name.
        field: The dotted path of the field at fault, when there is one.

    Example:
        >>> err = SerializationError("field 'qty' must be an integer", type_name="Allocated")
        >>> err.type_name
        'Allocated'
    """

    def __init__(self, message: str, *, type_name: str, field: str | None = None) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.field = field


DeserializationReason = Literal[
    "malformed",
    "too_large",
    "too_deep",
    "unknown_type",
    "unsupported_version",
    "upcast_failed",
    "missing_field",
    "extra_field",
    "wrong_type",
    "invalid_value",
]
"""Why incoming data was rejected; see [`DeserializationError`][tactical.DeserializationError]."""


class DeserializationError(TacticalError, ValueError):
    """Incoming data that cannot become a registered message; nothing was built from it.

    Retrying cannot help: a consumer dead-letters such a message at once. The message says
    what is wrong and where, never what the data held.

    Attributes:
        reason: What is wrong: ``"malformed"`` (not JSON, NaN or infinity, a duplicate key, a
            bad envelope header), ``"too_large"``, ``"too_deep"``, ``"unknown_type"`` (not
            registered), ``"unsupported_version"`` (no upcaster leads to the current schema),
            ``"upcast_failed"``, ``"missing_field"``, ``"extra_field"``, ``"wrong_type"`` or
            ``"invalid_value"`` (a bad date, an unknown enum value, rejected by the class).
        type_name: The type name the data claimed, when it got that far.
        field: The dotted path of the field at fault, when there is one.

    Example:
        >>> err = DeserializationError("unknown type", reason="unknown_type", type_name="Ship")
        >>> (err.reason, err.type_name, err.field)
        ('unknown_type', 'Ship', None)
    """

    def __init__(
        self,
        message: str,
        *,
        reason: DeserializationReason,
        type_name: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason: DeserializationReason = reason
        self.type_name = type_name
        self.field = field


class BrokerError(TacticalError, ConnectionError):
    """The message broker failed or could not be reached; the driver's error is ``__cause__``.

    Example:
        >>> issubclass(BrokerError, ConnectionError)
        True
    """
