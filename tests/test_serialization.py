"""Messages become JSON envelopes and come back equal; bad data is refused before any build."""

from __future__ import annotations

import dataclasses
import enum
import json
import typing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tactical import Command, Event
from tactical._envelope import Envelope
from tactical._exceptions import DeserializationError, RegistrationError, SerializationError
from tactical._serialization import MessageRegistry
from tactical.testing import messages

if TYPE_CHECKING:
    from collections.abc import Callable

SECRET = "s3cr3t-payload-value"


class Colour(enum.Enum):
    RED = "red"
    BLUE = 2


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Line:
    sku: str
    qty: int
    price: Money | None = None


@dataclass(frozen=True)
class Everything(Event):
    text: str
    number: int
    ratio: float
    flag: bool
    day: date
    moment: datetime
    amount: Decimal
    ident: UUID
    colour: Colour
    line: Line
    lines: list[Line]
    tags: tuple[str, ...]
    pair: tuple[str, int]
    maybe: int | None
    later: date | None = None


@dataclass(frozen=True)
class Allocated(Event):
    orderid: str
    sku: str
    qty: int
    batchref: str


@dataclass(frozen=True)
class Allocate(Command):
    orderid: str
    sku: str
    qty: int

    def __post_init__(self) -> None:
        if self.qty <= 0:
            raise ValueError("qty must be positive")


def _offsets() -> st.SearchStrategy[timezone]:
    return st.integers(min_value=-23 * 60, max_value=23 * 60).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    )


EVERYTHING = messages(
    Everything,
    moment=st.datetimes(timezones=st.none() | st.just(UTC) | _offsets()),
)


def registry() -> MessageRegistry:
    return MessageRegistry([Everything, Allocated, Allocate])


def payload(message: object) -> dict[str, Any]:
    """The JSON object a registry writes for ``message``."""
    data = json.loads(registry().envelope(message).data)  # type: ignore[arg-type]
    assert isinstance(data, dict)
    return data


def decode(data: object, type_name: str = "Allocated", **options: Any) -> object:
    text = data if isinstance(data, str) else json.dumps(data)
    return MessageRegistry([Everything, Allocated, Allocate], **options).message(
        Envelope(type_name, text, "m-1")
    )


def rejection(data: object, type_name: str = "Allocated", **options: Any) -> DeserializationError:
    with pytest.raises(DeserializationError) as caught:
        decode(data, type_name, **options)
    assert SECRET not in str(caught.value), "an error message must not echo the data"
    return caught.value


ALLOCATED = {"orderid": "o1", "sku": "LAMP", "qty": 3, "batchref": SECRET}


# Round trips


@given(EVERYTHING)
def test_every_supported_field_type_round_trips_through_an_envelope(message: Everything) -> None:
    """Strings, numbers, dates, times, decimals, UUIDs, enums, value objects, lists, tuples."""
    codec = registry()
    assert codec.message(codec.envelope(message)) == message


@given(EVERYTHING)
def test_a_whole_json_document_round_trips(message: Everything) -> None:
    """dumps/loads keep id, type, version, time and payload; the message comes back equal."""
    codec = registry()
    envelope = codec.envelope(message)
    again = codec.loads(codec.dumps(envelope))
    assert again == envelope
    assert codec.message(again) == message


@given(EVERYTHING)
def test_stream_fields_round_trip(message: Everything) -> None:
    """The flat field form of an envelope reads back to the same envelope."""
    envelope = registry().envelope(message)
    assert Envelope.from_fields(envelope.to_fields()) == envelope


def test_an_envelope_has_a_uuid_id_the_type_name_a_utc_time_and_a_version() -> None:
    """The headers: a fresh UUID, the registered name, now (UTC) and the current version."""
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    codec = MessageRegistry(clock=lambda: moment)
    codec.register(Allocated, name="allocation.Allocated", version=3)
    envelope = codec.envelope(Allocated("o1", "LAMP", 3, "b1"))
    assert UUID(envelope.message_id).version == 4
    assert (envelope.type, envelope.schema_version, envelope.occurred_at) == (
        "allocation.Allocated",
        3,
        moment,
    )
    document = json.loads(codec.dumps(envelope))
    assert document["occurred_at"] == "2024-05-01T12:00:00.000000Z"
    assert document["data"] == {"orderid": "o1", "sku": "LAMP", "qty": 3, "batchref": "b1"}


def test_two_envelopes_of_one_message_have_different_ids() -> None:
    """Each envelope is a new message instance on the wire."""
    codec = registry()
    message = Allocated("o1", "LAMP", 3, "b1")
    assert codec.envelope(message).message_id != codec.envelope(message).message_id


def test_fields_with_defaults_may_be_missing() -> None:
    """A field with a default (an addition to the schema) takes its default when absent."""
    data = payload(_everything(later=date(2024, 1, 1)))
    del data["later"]
    del data["line"]["price"]
    expected = _everything(line=Line("LAMP", 1))
    assert decode(data, "Everything") == expected


def test_hints_are_resolved_at_registration_not_per_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Decoding works with `get_type_hints` broken: nothing is resolved per message."""
    codec = registry()
    envelope = codec.envelope(_everything())

    def broken(*args: object, **kwargs: object) -> dict[str, Any]:
        raise AssertionError("type hints resolved while decoding")

    monkeypatch.setattr(typing, "get_type_hints", broken)
    assert codec.message(envelope) == _everything()


def _everything(**changes: Any) -> Everything:
    base = Everything(
        text="héllo",
        number=-3,
        ratio=0.5,
        flag=True,
        day=date(2024, 2, 29),
        moment=datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
        amount=Decimal("1.10"),
        ident=UUID(int=7),
        colour=Colour.BLUE,
        line=Line("LAMP", 1, Money(Decimal("9.99"), "EUR")),
        lines=[Line("CHAIR", 2)],
        tags=("a", "b"),
        pair=("x", 1),
        maybe=None,
    )
    return dataclasses.replace(base, **changes)


# Rejections: each reason


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "",
        '{"qty": NaN}',
        '{"qty": Infinity}',
        '{"qty": -Infinity}',
        '{"qty": 1e999}',
        '{"orderid": "a", "orderid": "b"}',
        "\ufeff{}",
        '{"qty": ' + "9" * 5000 + "}",
    ],
    ids=["text", "empty", "nan", "inf", "-inf", "overflow", "duplicate", "bom", "huge-int"],
)
def test_malformed_json_is_rejected(text: str) -> None:
    """Not JSON, NaN and infinities, floats out of range, duplicate keys: 'malformed'."""
    assert rejection(text).reason == "malformed"


def test_an_unknown_type_is_rejected_and_never_looked_up_anywhere_else() -> None:
    """A type name not in the registry, even a real importable class path, is 'unknown_type'."""
    for name in ("Deallocated", "os.system", "builtins.eval", "tests.test_serialization.Line"):
        error = rejection(ALLOCATED, name)
        assert (error.reason, error.type_name) == ("unknown_type", name)


def test_a_missing_field_is_rejected_and_named() -> None:
    """A required field that is absent: 'missing_field', with its path."""
    error = rejection({k: v for k, v in ALLOCATED.items() if k != "qty"})
    assert (error.reason, error.field, error.type_name) == ("missing_field", "qty", "Allocated")
    assert "qty" in str(error)


def test_a_missing_nested_field_is_named_by_its_path() -> None:
    """Paths run through value objects and lists."""
    data = payload(_everything())
    del data["lines"][0]["qty"]
    error = rejection(data, "Everything")
    assert (error.reason, error.field) == ("missing_field", "lines[0].qty")


def test_an_extra_field_is_rejected() -> None:
    """A field the class does not declare: 'extra_field'."""
    error = rejection({**ALLOCATED, "colour": SECRET})
    assert error.reason == "extra_field"
    assert "'colour'" in str(error)


def test_a_long_extra_field_name_is_cut_short_in_the_message() -> None:
    """A hostile field name is not echoed whole."""
    error = rejection({**ALLOCATED, "x" * 10_000: 1})
    assert error.reason == "extra_field"
    assert len(str(error)) < 200


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("text", 1),
        ("number", True),
        ("number", 1.5),
        ("number", "1"),
        ("ratio", "0.5"),
        ("ratio", None),
        ("flag", 1),
        ("day", 20240229),
        ("amount", 1.1),
        ("ident", 7),
        ("colour", True),
        ("line", [SECRET]),
        ("lines", {"sku": SECRET}),
        ("tags", SECRET),
        ("pair", ["x"]),
        ("pair", ["x", 1, 2]),
        ("maybe", "1"),
    ],
)
def test_a_wrong_typed_field_is_rejected(name: str, value: object) -> None:
    """A value of the wrong JSON kind for its declared type: 'wrong_type', never coerced."""
    data = payload(_everything())
    data[name] = value
    error = rejection(data, "Everything")
    assert (error.reason, error.field) == ("wrong_type", name)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("day", "2024-02-30"),
        ("moment", "yesterday"),
        ("amount", "NaN"),
        ("amount", "Infinity"),
        ("amount", "one"),
        ("ident", "not-a-uuid"),
        ("ident", "0" * 100),
        ("colour", "green"),
        ("colour", 3),
        ("colour", "2"),
        ("text", "\ud800"),
    ],
)
def test_a_value_of_the_right_kind_but_invalid_is_rejected(name: str, value: object) -> None:
    """A bad date, a non-finite decimal, an unknown enum member, a lone surrogate: invalid."""
    data = payload(_everything())
    data[name] = value
    error = rejection(data, "Everything")
    assert (error.reason, error.field) == ("invalid_value", name)


def test_a_value_the_class_itself_rejects_is_invalid() -> None:
    """A `__post_init__` that raises makes the message 'invalid_value', naming the class."""
    error = rejection({"orderid": "o1", "sku": "LAMP", "qty": 0}, "Allocate")
    assert error.reason == "invalid_value"
    assert "qty must be positive" in str(error)
    assert isinstance(error.__cause__, ValueError)


def test_a_payload_that_is_not_an_object_is_rejected() -> None:
    """A payload must be a JSON object."""
    assert rejection([ALLOCATED]).reason == "wrong_type"


def test_an_oversized_payload_is_rejected_before_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over max_bytes (counted in UTF-8): 'too_large', and json is never called."""
    monkeypatch.setattr(json, "loads", None)
    text = json.dumps({**ALLOCATED, "orderid": "é" * 60})
    assert rejection(text, max_bytes=100).reason == "too_large"
    assert rejection(" " * 101, max_bytes=100).reason == "too_large"


def test_the_default_size_limit_is_one_mebibyte() -> None:
    """A payload just over 1 MiB is refused by default."""
    text = json.dumps({**ALLOCATED, "orderid": "x" * (1024 * 1024)})
    assert rejection(text).reason == "too_large"


def test_deep_nesting_is_rejected() -> None:
    """Arrays and objects nested deeper than max_depth: 'too_deep', whatever the type says."""
    nested: object = 1
    for _ in range(40):
        nested = [nested]
    assert rejection({**ALLOCATED, "orderid": nested}).reason == "too_deep"
    assert rejection("[" * 100_000 + "]" * 100_000).reason == "too_deep"
    assert rejection({**ALLOCATED, "orderid": [[1]]}, max_depth=2).reason == "too_deep"


def test_the_depth_limit_counts_the_payload_object_as_one() -> None:
    """A flat object is depth 1: it passes a limit of 1."""
    assert decode(ALLOCATED, max_depth=1) == Allocated("o1", "LAMP", 3, SECRET)


def test_a_newer_schema_version_is_rejected() -> None:
    """A version above the registered one: 'unsupported_version'."""
    codec = registry()
    error = _message_error(codec, Envelope("Allocated", json.dumps(ALLOCATED), "m", 2))
    assert error.reason == "unsupported_version"


def test_an_older_version_without_an_upcaster_is_rejected() -> None:
    """No chain of upcasters to the current version: 'unsupported_version'."""
    codec = MessageRegistry()
    codec.register(Allocated, version=3)
    codec.upcaster("Allocated", from_version=2)(lambda data: data)
    error = _message_error(codec, Envelope("Allocated", json.dumps(ALLOCATED), "m", 1))
    assert error.reason == "unsupported_version"
    assert "from schema version 1" in str(error)


def _message_error(codec: MessageRegistry, envelope: Envelope) -> DeserializationError:
    with pytest.raises(DeserializationError) as caught:
        codec.message(envelope)
    return caught.value


# Upcasting


def test_upcasters_chain_from_an_old_version_to_the_current_one() -> None:
    """Version 1 goes through the upcaster from 1, then from 2, then is validated."""
    codec = MessageRegistry()
    codec.register(Allocated, version=3)
    seen: list[int] = []

    @codec.upcaster("Allocated", from_version=1)
    def add_sku(data: dict[str, Any]) -> dict[str, Any]:
        seen.append(1)
        return {**data, "sku": "LAMP"}

    @codec.upcaster("Allocated", from_version=2)
    def rename(data: dict[str, Any]) -> dict[str, Any]:
        seen.append(2)
        data["batchref"] = data.pop("batch")
        return data

    old = Envelope("Allocated", '{"orderid":"o1","qty":3,"batch":"b1"}', "m", 1)
    assert codec.message(old) == Allocated("o1", "LAMP", 3, "b1")
    assert seen == [1, 2]
    assert add_sku.__name__ == "add_sku"  # the decorator returns the function


def test_an_upcaster_that_fails_or_returns_no_dict_rejects_the_message() -> None:
    """Its exception, or a result that is not a dict: 'upcast_failed'."""
    upcasts: list[Callable[[dict[str, Any]], Any]] = [lambda data: data["missing"], lambda d: [d]]
    for upcast in upcasts:
        codec = MessageRegistry()
        codec.register(Allocated, version=2)
        codec.upcaster("Allocated", from_version=1)(upcast)
        error = _message_error(codec, Envelope("Allocated", json.dumps(ALLOCATED), "m", 1))
        assert error.reason == "upcast_failed"


def test_an_upcast_payload_is_still_validated() -> None:
    """What an upcaster returns must fit the current type like any payload."""
    codec = MessageRegistry()
    codec.register(Allocated, version=2)
    codec.upcaster("Allocated", from_version=1)(lambda data: {**data, "extra": 1})
    error = _message_error(codec, Envelope("Allocated", json.dumps(ALLOCATED), "m", 1))
    assert error.reason == "extra_field"


# Registration


def test_names_default_to_the_class_name_and_may_be_explicit() -> None:
    """`name_of` and `in` see the names a type was registered under."""
    codec = MessageRegistry([Allocated])
    codec.register(Allocate, name="allocation.Allocate")
    assert codec.name_of(Allocated) == "Allocated"
    assert codec.name_of(Allocate) == "allocation.Allocate"
    assert "allocation.Allocate" in codec
    assert Allocate in codec
    assert "Allocate" not in codec
    with pytest.raises(LookupError):
        codec.name_of(Everything)


def test_register_works_as_a_class_decorator() -> None:
    """`@registry.register` registers the class and returns it."""
    codec = MessageRegistry()

    @codec.register
    @dataclass(frozen=True)
    class Shipped(Event):
        ref: str

    assert codec.message(codec.envelope(Shipped("r"))) == Shipped("r")


def test_a_duplicate_name_is_rejected_at_registration() -> None:
    """Two types cannot share a name, and one type cannot have two names."""
    codec = MessageRegistry([Allocated])

    @dataclass(frozen=True)
    class Other(Event):
        x: int

    with pytest.raises(RegistrationError, match="two types named 'Allocated'"):
        codec.register(Other, name="Allocated")
    with pytest.raises(RegistrationError, match="registered already"):
        codec.register(Allocated, name="Allocated2")


@dataclass(frozen=True)
class Node:
    value: int
    next: Node | None = None


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        (dict[str, int], "not supported"),
        (int | str, "only `X | None`"),
        (Any, "not supported"),
        (bytes, "not supported"),
        (list, "not supported"),
        (set[int], "not supported"),
        (Node, "recursive"),
    ],
    ids=["dict", "union", "any", "bytes", "bare-list", "set", "recursive"],
)
def test_a_field_type_with_no_json_form_is_rejected_at_registration(
    annotation: object, message: str
) -> None:
    """Unsupported types fail when registered, naming the class and the field."""
    cls = dataclasses.make_dataclass("Odd", [("field", annotation)], bases=(Event,), frozen=True)
    with pytest.raises(RegistrationError, match=message) as caught:
        MessageRegistry([cls])
    assert "Odd.field" in str(caught.value)


def test_only_message_dataclasses_can_be_registered() -> None:
    """A plain class, a non-message dataclass, an enum of floats: RegistrationError."""

    class Plain(Event):
        pass

    class Ratio(enum.Enum):
        HALF = 0.5

    odd = dataclasses.make_dataclass("OddEnum", [("r", Ratio)], bases=(Event,), frozen=True)
    for bad in (Plain, Line, int, odd):
        with pytest.raises(RegistrationError):
            MessageRegistry([bad])


def test_unresolvable_annotations_are_rejected_at_registration() -> None:
    """A forward reference that does not resolve fails at registration, not at decode."""

    @dataclass(frozen=True)
    class Forward(Event):
        thing: Missing  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(RegistrationError, match="cannot resolve"):
        MessageRegistry([Forward])


def test_bad_names_versions_and_upcasters_are_rejected() -> None:
    """Empty or unprintable names, versions below 1, upcasters out of range or doubled."""
    codec = MessageRegistry()
    for options in ({"name": ""}, {"name": "a\nb"}, {"version": 0}, {"version": True}):
        with pytest.raises(RegistrationError):
            codec.register(Allocated, **options)
    codec.register(Allocated, version=2)
    with pytest.raises(RegistrationError, match="before its upcasters"):
        codec.upcaster("Nope", from_version=1)
    for version in (0, 2):
        with pytest.raises(RegistrationError, match="from 1 to 1"):
            codec.upcaster("Allocated", from_version=version)
    codec.upcaster("Allocated", from_version=1)(lambda data: data)
    with pytest.raises(RegistrationError, match="already"):
        codec.upcaster("Allocated", from_version=1)


def test_fields_that_are_not_init_parameters_are_neither_written_nor_read() -> None:
    """A derived field (``init=False``) is recomputed by the class."""

    @dataclass(frozen=True)
    class Priced(Event):
        qty: int
        total: int = field(init=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "total", self.qty * 2)

    codec = MessageRegistry([Priced])
    envelope = codec.envelope(Priced(3))
    assert json.loads(envelope.data) == {"qty": 3}
    assert codec.message(envelope) == Priced(3)


def test_limits_must_be_sensible() -> None:
    """A registry needs room for at least an empty object."""
    with pytest.raises(ValueError, match="max_bytes"):
        MessageRegistry(max_bytes=1)
    with pytest.raises(ValueError, match="max_depth"):
        MessageRegistry(max_depth=0)


# Writing


def test_writing_an_unregistered_type_fails() -> None:
    """Only registered types are written."""
    with pytest.raises(SerializationError, match="not registered"):
        MessageRegistry().envelope(Allocated("o1", "LAMP", 1, "b1"))


@pytest.mark.parametrize(
    "changes",
    [
        {"number": "3"},
        {"number": True},
        {"ratio": float("nan")},
        {"ratio": float("inf")},
        {"amount": Decimal("NaN")},
        {"amount": 1.5},
        {"day": datetime(2024, 1, 1, tzinfo=UTC)},
        {"moment": date(2024, 1, 1)},
        {"ident": "0000"},
        {"colour": "red"},
        {"line": Money(Decimal(1), "EUR")},
        {"lines": {"x": 1}},
        {"pair": ("x",)},
        {"text": "\ud800"},
    ],
    ids=lambda changes: next(iter(changes)),
)
def test_a_value_that_does_not_match_its_declared_type_is_not_written(
    changes: dict[str, object],
) -> None:
    """Dataclasses do not check types; the registry does, so nothing unreadable is sent."""
    with pytest.raises(SerializationError) as caught:
        registry().envelope(_everything(**changes))
    assert caught.value.type_name == "Everything"


def test_a_subclass_of_a_value_object_is_not_written_as_its_base() -> None:
    """Writing it would drop its extra fields silently."""

    @dataclass(frozen=True)
    class PricedLine(Line):
        discount: int = 0

    with pytest.raises(SerializationError) as caught:
        registry().envelope(_everything(line=PricedLine("LAMP", 1)))
    assert caught.value.field == "line"


def test_a_naive_occurred_at_is_refused() -> None:
    """Times travel in UTC: a time without an offset would be misread elsewhere."""
    naive = datetime(2024, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(SerializationError, match="timezone-aware"):
        registry().envelope(Allocated("o1", "LAMP", 1, "b1"), occurred_at=naive)


def test_an_oversized_message_is_not_written() -> None:
    """The writer enforces the limit the reader will apply."""
    codec = MessageRegistry([Allocated], max_bytes=50)
    with pytest.raises(SerializationError, match="over the limit"):
        codec.envelope(Allocated("o" * 50, "LAMP", 1, "b1"))


def test_ints_that_are_enum_members_and_strs_that_are_subclasses_are_written_plainly() -> None:
    """An IntEnum in an int field is written as its number; a str subclass as its text."""

    class Level(enum.IntEnum):
        HIGH = 3

    class Sku(str):
        __slots__ = ()

        def __str__(self) -> str:
            return "not-the-text"

    data = payload(Allocated("o1", Sku("LAMP"), Level.HIGH, "b1"))
    assert (data["sku"], data["qty"]) == ("LAMP", 3)
    assert type(data["qty"]) is int


# Envelopes


def test_an_entry_without_id_takes_the_stream_entry_id() -> None:
    """Entries from other services may lack `id`: the broker's entry id stands in."""
    envelope = Envelope.from_fields({"type": "Allocated", "data": "{}"}, entry_id="17-0")
    assert (envelope.message_id, envelope.schema_version, envelope.occurred_at) == ("17-0", 1, None)


@pytest.mark.parametrize(
    "fields",
    [
        {"data": "{}", "id": "m"},
        {"type": "Allocated", "id": "m"},
        {"type": "Allocated", "data": "{}"},
        {"type": "", "data": "{}", "id": "m"},
        {"type": "A" * 257, "data": "{}", "id": "m"},
        {"type": "Allocated", "data": "{}", "id": "m\n"},
        {"type": "Allocated", "data": "{}", "id": "m", "version": "0"},
        {"type": "Allocated", "data": "{}", "id": "m", "version": "-1"},
        {"type": "Allocated", "data": "{}", "id": "m", "version": "1.0"},
        {"type": "Allocated", "data": "{}", "id": "m", "version": "\u0661"},
        {"type": "Allocated", "data": "{}", "id": "m", "occurred_at": "2024-01-01T00:00:00"},
        {"type": "Allocated", "data": "{}", "id": "m", "occurred_at": "noon"},
    ],
    ids=[
        "no-type",
        "no-data",
        "no-id",
        "empty-type",
        "long-type",
        "control-char",
        "version-0",
        "version-negative",
        "version-float",
        "version-arabic-digit",
        "naive-time",
        "bad-time",
    ],
)
def test_malformed_entry_headers_are_rejected(fields: dict[str, str]) -> None:
    """Missing type or data, no id and no entry id, bad version or time: 'malformed'."""
    with pytest.raises(DeserializationError) as caught:
        Envelope.from_fields(fields)
    assert caught.value.reason == "malformed"


def test_unknown_entry_fields_are_ignored() -> None:
    """A newer producer may add headers."""
    fields = {"type": "T", "data": "{}", "id": "m", "trace": "abc"}
    assert Envelope.from_fields(fields) == Envelope("T", "{}", "m")


def test_occurred_at_is_read_as_utc() -> None:
    """Any offset is accepted and converted to UTC."""
    fields = {"type": "T", "data": "{}", "id": "m", "occurred_at": "2024-01-01T02:00:00+02:00"}
    assert Envelope.from_fields(fields).occurred_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert Envelope.from_fields(fields).to_fields()["occurred_at"] == "2024-01-01T00:00:00.000000Z"


@pytest.mark.parametrize(
    "document",
    [
        b"\xff\xfe",
        b"[]",
        b'{"id": "6f1c0b1e-7d6a-4c41-9a53-0c1f0b0e2d11", "type": "Allocated"}',
        b'{"id": "6f1c0b1e-7d6a-4c41-9a53-0c1f0b0e2d11", "type": "Allocated", "data": []}',
        b'{"id": "m-1", "type": "Allocated", "data": {}}',
        b'{"id": 5, "type": "Allocated", "data": {}}',
        (
            b'{"id": "6f1c0b1e-7d6a-4c41-9a53-0c1f0b0e2d11", "type": "Allocated", "data": {}, '
            b'"version": "1"}'
        ),
        b'{"id": "6F1C0B1E-7D6A-4C41-9A53-0C1F0B0E2D11", "type": "Allocated", "data": {}}',
    ],
    ids=[
        "not-utf8",
        "array",
        "no-data",
        "data-array",
        "id-not-uuid",
        "id-number",
        "version-str",
        "id-upper",
    ],
)
def test_malformed_documents_are_rejected(document: bytes) -> None:
    """A document must be a UTF-8 JSON object with a UUID id, a type and an object payload."""
    with pytest.raises(DeserializationError) as caught:
        registry().loads(document)
    assert caught.value.reason == "malformed"


def test_an_oversized_document_is_rejected() -> None:
    """The size limit applies to the whole document, as bytes or text."""
    codec = MessageRegistry([Allocated], max_bytes=64)
    document = codec.dumps(Envelope("Allocated", json.dumps(ALLOCATED), "m"))
    for form in (document, document.decode()):
        with pytest.raises(DeserializationError) as caught:
            codec.loads(form)
        assert caught.value.reason == "too_large"


def test_dumping_an_envelope_whose_data_is_not_an_object_fails() -> None:
    """A hand-built envelope with a broken payload is not written."""
    with pytest.raises(SerializationError):
        registry().dumps(Envelope("Allocated", "[1]", "m"))
    with pytest.raises(SerializationError):
        registry().dumps(Envelope("Allocated", "{", "m"))
