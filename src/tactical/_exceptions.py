"""The exceptions that tactical raises.

Every exception derives from [`TacticalError`][tactical.TacticalError], and each leaf also
derives from the builtin exception that a caller would naturally catch, so code that does not
know about tactical still handles it sensibly::

    TacticalError (Exception)
    ├── ConcurrencyError (RuntimeError)      an aggregate changed under this unit of work
    ├── TransactionError (RuntimeError)      a unit of work used outside its `with` block
    ├── NoHandlerError (LookupError)        a command with no handler
    ├── BootstrapError (TypeError)           handlers or dependencies that cannot be wired
    └── RetryError (RuntimeError)            attempts or time ran out; keeps the last exception

Adapters translate their drivers' errors into this tree (with the driver's exception chained
as ``__cause__``), so application code never catches a driver exception.
"""

from __future__ import annotations

__all__ = [
    "BootstrapError",
    "ConcurrencyError",
    "NoHandlerError",
    "RetryError",
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
