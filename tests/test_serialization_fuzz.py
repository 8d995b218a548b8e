"""Fuzzing the decoder: whatever comes in, nothing is imported, compiled or executed, and no
object of an unregistered type is ever built.

An audit hook (`sys.addaudithook`) records every audit event raised while, and only while, the
decoder runs, and there must be none at all; each message class here counts its own
constructions. Random bytes, random JSON,
and mutations of valid payloads go in; only a `DeserializationError` or a message of the
registered type may come out.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal  # noqa: TC003 - dataclasses resolve annotations at run time
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tactical import Event
from tactical._envelope import Envelope
from tactical._exceptions import DeserializationError
from tactical._serialization import MessageRegistry

if TYPE_CHECKING:
    from collections.abc import Callable


class _Recorder:
    """Audit events and constructions, recorded only while `active` is set."""

    def __init__(self) -> None:
        self.active = False
        self.events: list[str] = []
        self.built: list[type[Any]] = []

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self.active:
            self.events.append(event)

    def run(self, decode: Callable[[], object]) -> tuple[object, BaseException | None]:
        self.events.clear()
        self.built.clear()
        self.active = True
        try:
            return decode(), None
        except BaseException as error:  # the test inspects whatever came out
            return None, error
        finally:
            self.active = False


RECORDER = _Recorder()
sys.addaudithook(RECORDER.hook)  # hooks cannot be removed: this one records only when asked


def _counted(cls: type[Any]) -> type[Any]:
    """Make ``cls`` record each construction, through `__new__` and `__init__` alike."""
    original_init = cls.__init__

    def __new__(kind: type[Any], *args: Any, **kwargs: Any) -> Any:  # noqa: N807
        RECORDER.built.append(kind)
        return object.__new__(kind)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        RECORDER.built.append(type(self))
        original_init(self, *args, **kwargs)

    setattr(cls, "__new__", __new__)  # noqa: B010 - mypy rejects assigning a method
    setattr(cls, "__init__", __init__)  # noqa: B010
    return cls


@_counted
@dataclass(frozen=True)
class Price:
    amount: Decimal
    currency: str


@_counted
@dataclass(frozen=True)
class Allocated(Event):
    orderid: str
    qty: int
    eta: date | None
    prices: tuple[Price, ...] = ()


@_counted
@dataclass(frozen=True)
class Secret(Event):
    """Importable and a message, but not registered: it must never be built from data."""

    command: str


REGISTERED = {Allocated, Price}
REGISTRY = MessageRegistry([Allocated])
NAMES = st.sampled_from(
    [
        "Allocated",
        "Secret",
        "Price",
        "tests.test_serialization_fuzz.Secret",
        "os.system",
        "builtins.eval",
        "__import__",
        "pickle.loads",
    ]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
FIELD_NAMES = st.sampled_from(["orderid", "qty", "eta", "prices", "amount", "currency", "command"])
valid_payloads = st.fixed_dictionaries(
    {
        "orderid": st.text(max_size=10),
        "qty": st.integers(),
        "eta": st.none() | st.dates().map(date.isoformat),
        "prices": st.lists(
            st.fixed_dictionaries(
                {
                    "amount": st.decimals(allow_nan=False, allow_infinity=False).map(str),
                    "currency": st.text(max_size=3),
                }
            ),
            max_size=3,
        ),
    }
)


@st.composite
def mutated_payloads(draw: st.DrawFn) -> Any:
    """A valid payload with a few keys dropped, added or given random values."""
    data: dict[str, Any] = draw(valid_payloads)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        target = data
        prices = data.get("prices")
        if isinstance(prices, list) and prices and isinstance(prices[0], dict):
            target = draw(st.sampled_from([data, prices[0]]))
        action = draw(st.sampled_from(["drop", "add", "replace"]))
        key = draw(FIELD_NAMES | st.text(max_size=5))
        if action == "drop":
            target.pop(key, None)
        else:
            target[key] = draw(json_values)
    return data


def _check(result: object, error: BaseException | None, type_name: str) -> None:
    # Not one audit event: no import, exec, compile, open, pickle or marshal, nor anything else.
    assert not RECORDER.events, f"the decoder raised audit events {RECORDER.events}"
    assert Secret not in RECORDER.built
    if error is not None:
        assert isinstance(error, DeserializationError), f"unexpected {type(error).__name__}"
        assert not RECORDER.built, f"built {RECORDER.built} before rejecting the data"
        return
    assert type_name == "Allocated"
    assert type(result) is Allocated
    assert set(RECORDER.built) <= REGISTERED


def _decode(type_name: str, data: str) -> None:
    result, error = RECORDER.run(lambda: REGISTRY.message(Envelope(type_name, data, "m-1")))
    _check(result, error, type_name)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(NAMES, st.binary(max_size=200))
def test_random_bytes_as_a_payload(type_name: str, data: bytes) -> None:
    """Arbitrary bytes (as a stream would hand them over) are rejected cleanly or decoded."""
    _decode(type_name, data.decode("utf-8", errors="surrogateescape"))


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_as_a_document(document: bytes) -> None:
    """Arbitrary bytes read as a whole JSON document, then decoded, import nothing."""

    def decode() -> object:
        return REGISTRY.message(REGISTRY.loads(document))

    result, error = RECORDER.run(decode)
    _check(result, error, "Allocated" if error is None else "?")


@FUZZ
@given(NAMES, json_values)
def test_random_json_as_a_payload(type_name: str, value: object) -> None:
    """Any JSON value under any type name: rejected before anything is built, or decoded."""
    _decode(type_name, json.dumps(value))


@FUZZ
@given(NAMES, mutated_payloads())
def test_mutated_valid_payloads(type_name: str, value: object) -> None:
    """Payloads one step from valid: missing, extra and wrong-typed fields, nested too."""
    _decode(type_name, json.dumps(value))


@FUZZ
@given(valid_payloads)
def test_valid_payloads_build_only_registered_types(value: dict[str, Any]) -> None:
    """The control: valid data does build the message (the recorder is not blind)."""
    result, error = RECORDER.run(
        lambda: REGISTRY.message(Envelope("Allocated", json.dumps(value), "m-1"))
    )
    assert error is None
    assert type(result) is Allocated
    assert Allocated in RECORDER.built
    assert RECORDER.built.count(Price) == 2 * len(value["prices"])


def test_the_recorder_sees_imports_and_builds() -> None:
    """The control: an import and a construction inside `run` are recorded."""

    def naughty() -> object:
        __import__("colorsys")
        return Secret("x")

    sys.modules.pop("colorsys", None)  # so that the import below really imports
    RECORDER.run(naughty)
    assert "import" in RECORDER.events
    assert Secret in RECORDER.built
