"""What users' code sees of tactical's exceptions."""

from __future__ import annotations

from typing import assert_type

from tactical import (
    BootstrapError,
    Command,
    ConcurrencyError,
    NoHandlerError,
    PersistenceError,
    RetryError,
    TacticalError,
    TransactionError,
)


class Ship(Command):
    pass


def the_exceptions_carry_their_context() -> None:
    conflict = ConcurrencyError("changed", aggregate_type=Ship, key="s1")
    assert_type(conflict.aggregate_type, type[object] | None)
    assert_type(conflict.key, object)
    missing = NoHandlerError(Ship)
    assert_type(missing.message_type, type[object])
    gave_up = RetryError(3, KeyError("x"))
    assert_type(gave_up.attempts, int)
    assert_type(gave_up.last_exception, BaseException)
    ConcurrencyError("changed", "s1")  # type: ignore[call-arg, arg-type]


def each_is_also_a_builtin() -> None:
    errors: list[TacticalError] = [
        ConcurrencyError("x"),
        TransactionError("x"),
        PersistenceError("x"),
        NoHandlerError(Ship),
        BootstrapError("x"),
        RetryError(1, ValueError()),
    ]
    runtime: list[RuntimeError] = [
        ConcurrencyError("x"),
        TransactionError("x"),
        PersistenceError("x"),
        RetryError(1, ValueError()),
    ]
    assert_type(errors, list[TacticalError])
    assert_type(runtime, list[RuntimeError])
    caught_as_lookup(NoHandlerError(Ship))
    caught_as_type_error(BootstrapError("x"))


def caught_as_lookup(error: LookupError) -> None:
    assert_type(error, LookupError)


def caught_as_type_error(error: TypeError) -> None:
    assert_type(error, TypeError)
