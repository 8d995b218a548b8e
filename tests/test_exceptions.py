"""One exception tree rooted at `TacticalError`, each leaf also the builtin a caller would catch."""

from __future__ import annotations

import builtins

import pytest

import tactical
from tactical import _exceptions
from tactical._exceptions import (
    BootstrapError,
    BrokerError,
    ConcurrencyError,
    DeserializationError,
    NoHandlerError,
    PersistenceError,
    RegistrationError,
    RetryError,
    SerializationError,
    TacticalError,
    TransactionError,
)


class Allocate:
    pass


LEAVES: list[tuple[TacticalError, type[Exception]]] = [
    (ConcurrencyError("changed"), RuntimeError),
    (TransactionError("closed"), RuntimeError),
    (PersistenceError("disk full"), RuntimeError),
    (NoHandlerError(Allocate), LookupError),
    (BootstrapError("unwired"), TypeError),
    (RetryError(2, ValueError("x")), RuntimeError),
    (RegistrationError("two types named 'Allocated'"), TypeError),
    (SerializationError("not an integer", type_name="Allocated"), ValueError),
    (DeserializationError("not JSON", reason="malformed"), ValueError),
    (BrokerError("unreachable"), ConnectionError),
]


@pytest.mark.parametrize(("error", "builtin"), LEAVES, ids=lambda v: type(v).__name__)
def test_each_error_is_a_tactical_error_and_its_builtin(
    error: TacticalError, builtin: type[Exception]
) -> None:
    """Code that knows tactical catches TacticalError; code that does not catches the builtin."""
    assert isinstance(error, TacticalError)
    with pytest.raises(builtin):
        raise error


def test_the_root_is_an_exception() -> None:
    """TacticalError is an ordinary Exception, so a broad handler still catches it."""
    assert issubclass(TacticalError, Exception)
    assert not issubclass(TacticalError, (RuntimeError, LookupError, TypeError))


EXPORTED = sorted(
    {
        obj
        for module in (tactical, _exceptions)
        for obj in (getattr(module, name) for name in module.__all__)
        if isinstance(obj, type) and issubclass(obj, BaseException)
    },
    key=lambda cls: cls.__name__,
)
BUILTINS = [
    cls
    for cls in vars(builtins).values()
    if isinstance(cls, type) and issubclass(cls, Exception) and cls is not Exception
]


@pytest.mark.parametrize("error", EXPORTED, ids=lambda cls: cls.__name__)
def test_every_exception_belongs_to_the_tree(error: type[BaseException]) -> None:
    """Every exception tactical defines is a TacticalError, and below the root a builtin too."""
    assert issubclass(error, TacticalError)
    if error is not TacticalError:
        assert any(issubclass(error, builtin) for builtin in BUILTINS), error.__mro__


def test_concurrency_error_carries_the_aggregate_in_conflict() -> None:
    """ConcurrencyError names the aggregate's class and key when known, ``None`` otherwise."""
    error = ConcurrencyError("Product 'LAMP' changed", aggregate_type=Allocate, key="LAMP")
    assert (error.aggregate_type, error.key, str(error)) == (
        Allocate,
        "LAMP",
        "Product 'LAMP' changed",
    )
    bare = ConcurrencyError("changed")
    assert (bare.aggregate_type, bare.key) == (None, None)


def test_no_handler_error_names_the_command_type() -> None:
    """NoHandlerError keeps the command type and names it in its message."""
    error = NoHandlerError(Allocate)
    assert error.message_type is Allocate
    assert str(error) == "no handler for command Allocate"


def test_retry_error_keeps_the_attempts_and_the_last_exception() -> None:
    """RetryError says how many attempts were made and keeps the last exception."""
    last = TimeoutError("slow")
    error = RetryError(4, last)
    assert (error.attempts, error.last_exception) == (4, last)
    assert str(error) == "gave up after 4 attempt(s); last error: TimeoutError"


def test_codec_errors_say_where_without_the_data() -> None:
    """Serialization errors carry the type name, the field at fault and, incoming, a reason."""
    outgoing = SerializationError("field 'qty' must be an integer", type_name="A", field="qty")
    assert (outgoing.type_name, outgoing.field) == ("A", "qty")
    assert SerializationError("x", type_name="A").field is None
    incoming = DeserializationError("bad", reason="wrong_type", type_name="A", field="b.c")
    assert (incoming.reason, incoming.type_name, incoming.field) == ("wrong_type", "A", "b.c")
    bare = DeserializationError("bad", reason="malformed")
    assert (bare.type_name, bare.field) == (None, None)
