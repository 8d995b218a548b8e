"""Codecs: check JSON data against one type, build the value, and encode values back.

Decoding is two passes: `check` walks the whole JSON value and raises on the first problem,
and only then `build` constructs objects, so bad data never builds anything. Error messages
name the field and the kinds involved, never the value, which may be private or hostile.
"""

from __future__ import annotations

import math
import operator
import typing
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

if TYPE_CHECKING:
    import enum
    from collections.abc import Callable

__all__ = [
    "JSON",
    "SCALARS",
    "ArrayCodec",
    "Codec",
    "EnumCodec",
    "Invalid",
    "OptionalCodec",
    "RegistrationProblem",
    "TupleCodec",
    "shown",
    "where",
]

JSON = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]
"""A value as `json` reads or writes it."""

Problem = Literal["missing_field", "extra_field", "wrong_type", "invalid_value"]


class Invalid(Exception):  # noqa: N818 - internal signal, translated before it leaves the package
    """Data that does not fit a codec: what is wrong, and where (a dotted path)."""

    def __init__(self, problem: Problem, path: str, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem
        self.path = path
        self.detail = detail


class RegistrationProblem(Exception):  # noqa: N818 - internal signal, translated by the registry
    """A type hint that no codec can serve."""


class Codec:
    """Checks JSON data against one type, builds the value from checked data, encodes values."""

    __slots__ = ()
    expected = "a value"

    def check(self, data: JSON, path: str) -> None:
        """Raise `Invalid` unless ``data`` can be built into a value of this type."""
        raise NotImplementedError

    def build(self, data: JSON) -> Any:
        """The value for ``data``, which `check` accepted."""
        return data

    def encode(self, value: object, path: str) -> JSON:
        """The JSON form of ``value``; raise `Invalid` when it is not of this type."""
        raise NotImplementedError

    def wrong(self, data: object, path: str) -> Invalid:
        """The error for ``data`` of the wrong kind: names the kinds, never the value."""
        return Invalid(
            "wrong_type", path, f"{where(path)}must be {self.expected}, got {_kind(data)}"
        )


def shown(name: str) -> str:
    """A name from incoming data, quoted, and cut short: it may be long or hostile."""
    if len(name) <= 40 and name.isprintable():  # noqa: PLR2004 - long enough for real names
        return repr(name)
    return f"{name[:40]!a}..."


def where(path: str) -> str:
    """The start of an error message about the value at ``path`` (empty for the root)."""
    return f"field {path!r} " if path else ""


def _kind(data: object) -> str:
    """The JSON (or Python) kind of a value, for error messages that must not echo it."""
    if data is None:
        return "null"
    if isinstance(data, bool):
        return "a boolean"
    if isinstance(data, (int, float)):
        return "a number"
    if isinstance(data, str):
        return "a string"
    if isinstance(data, list):
        return "an array"
    if isinstance(data, dict):
        return "an object"
    return f"a {type(data).__qualname__}"


def _valid_text(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (JSON escapes can smuggle in lone surrogates)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _Str(Codec):
    __slots__ = ()
    expected = "a string"

    def check(self, data: JSON, path: str) -> None:
        if not isinstance(data, str):
            raise self.wrong(data, path)
        if not _valid_text(data):
            raise Invalid("invalid_value", path, f"{where(path)}is not valid Unicode text")

    def encode(self, value: object, path: str) -> JSON:
        if not isinstance(value, str):
            raise self.wrong(value, path)
        return str.__str__(value)


class _Int(Codec):
    __slots__ = ()
    expected = "an integer"

    def check(self, data: JSON, path: str) -> None:
        if not isinstance(data, int) or isinstance(data, bool):
            raise self.wrong(data, path)

    def encode(self, value: object, path: str) -> JSON:
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.wrong(value, path)
        return operator.index(value)


class _Float(Codec):
    __slots__ = ()
    expected = "a finite number"

    def check(self, data: JSON, path: str) -> None:
        if not isinstance(data, (int, float)) or isinstance(data, bool):
            raise self.wrong(data, path)
        try:
            finite = math.isfinite(data)
        except OverflowError:
            finite = False
        if not finite:
            raise Invalid("invalid_value", path, f"{where(path)}is out of the range of a float")

    def build(self, data: JSON) -> Any:
        return float(typing.cast("float", data))

    def encode(self, value: object, path: str) -> JSON:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise self.wrong(value, path)
        number = float(value)
        if not math.isfinite(number):
            raise Invalid(
                "invalid_value", path, f"{where(path)}must be finite (no NaN, no infinity)"
            )
        return number


class _Bool(Codec):
    __slots__ = ()
    expected = "a boolean"

    def check(self, data: JSON, path: str) -> None:
        if not isinstance(data, bool):
            raise self.wrong(data, path)

    def encode(self, value: object, path: str) -> JSON:
        if not isinstance(value, bool):
            raise self.wrong(value, path)
        return value


class _Parsed(Codec):
    """A value written as a string and parsed back: dates, times, decimals, UUIDs."""

    __slots__ = ("_accepts", "_parse", "expected")

    def __init__(
        self, accepts: Callable[[object], bool], parse: Callable[[str], Any], expected: str
    ) -> None:
        self._accepts = accepts
        self._parse = parse
        self.expected = expected

    def check(self, data: JSON, path: str) -> None:
        if not isinstance(data, str):
            raise self.wrong(data, path)
        try:
            self._parse(data)
        except (ValueError, TypeError, ArithmeticError):
            raise Invalid("invalid_value", path, f"{where(path)}is not {self.expected}") from None

    def build(self, data: JSON) -> Any:
        return self._parse(typing.cast("str", data))

    def encode(self, value: object, path: str) -> JSON:
        if not self._accepts(value):
            raise self.wrong(value, path)
        if isinstance(value, Decimal) and not value.is_finite():
            raise Invalid("invalid_value", path, f"{where(path)}must be a finite decimal")
        return value.isoformat() if isinstance(value, date) else str(value)


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _is(kind: type[Any]) -> Callable[[object], bool]:
    return lambda value: isinstance(value, kind)


def _decimal(text: str) -> Decimal:
    number = Decimal(text)
    if not number.is_finite():
        raise ValueError("not finite")
    return number


def _uuid(text: str) -> UUID:
    if len(text) > 64:  # noqa: PLR2004 - the longest form UUID() accepts is a 45-character URN
        raise ValueError("too long")
    return UUID(text)


class EnumCodec(Codec):
    __slots__ = ("_members", "_type", "expected")

    def __init__(self, kind: type[enum.Enum]) -> None:
        self._type = kind
        self._members: dict[tuple[type, object], enum.Enum] = {}
        for member in kind:
            if not isinstance(member.value, (str, int)) or isinstance(member.value, bool):
                raise RegistrationProblem(
                    f"enum {kind.__qualname__} has a value that is neither a str nor an int"
                )
            self._members[_enum_key(member.value)] = member
        self.expected = f"a value of {kind.__qualname__}"

    def check(self, data: JSON, path: str) -> None:
        if not isinstance(data, (str, int)) or isinstance(data, bool):
            raise self.wrong(data, path)
        if _enum_key(data) not in self._members:
            raise Invalid("invalid_value", path, f"{where(path)}is not {self.expected}")

    def build(self, data: JSON) -> Any:
        return self._members[_enum_key(typing.cast("str | int", data))]

    def encode(self, value: object, path: str) -> JSON:
        if not isinstance(value, self._type):
            raise self.wrong(value, path)
        return typing.cast("str | int", value.value)


def _enum_key(value: str | int) -> tuple[type, str | int]:
    """A lookup key that keeps ``1`` and ``"1"`` (and ``True``) apart."""
    return (str if isinstance(value, str) else int, value)


class OptionalCodec(Codec):
    __slots__ = ("_inner", "expected")

    def __init__(self, inner: Codec) -> None:
        self._inner = inner
        self.expected = f"{inner.expected} or null"

    def check(self, data: JSON, path: str) -> None:
        if data is not None:
            self._inner.check(data, path)

    def build(self, data: JSON) -> Any:
        return None if data is None else self._inner.build(data)

    def encode(self, value: object, path: str) -> JSON:
        return None if value is None else self._inner.encode(value, path)


class ArrayCodec(Codec):
    """A list, or a tuple of any length, of one item type."""

    __slots__ = ("_inner", "_make", "expected")

    def __init__(self, inner: Codec, make: type[list[Any] | tuple[Any, ...]]) -> None:
        self._inner = inner
        self._make = make
        self.expected = "an array"

    def check(self, data: JSON, path: str) -> None:
        if not isinstance(data, list):
            raise self.wrong(data, path)
        for index, item in enumerate(data):
            self._inner.check(item, f"{path}[{index}]")

    def build(self, data: JSON) -> Any:
        return self._make(self._inner.build(item) for item in typing.cast("list[JSON]", data))

    def encode(self, value: object, path: str) -> JSON:
        if not isinstance(value, (list, tuple)):
            raise self.wrong(value, path)
        return [self._inner.encode(item, f"{path}[{index}]") for index, item in enumerate(value)]


class TupleCodec(Codec):
    """A tuple of fixed length whose items each have their own type."""

    __slots__ = ("_items", "expected")

    def __init__(self, items: tuple[Codec, ...]) -> None:
        self._items = items
        self.expected = f"an array of {len(items)} items"

    def check(self, data: JSON, path: str) -> None:
        if not isinstance(data, list) or len(data) != len(self._items):
            raise self.wrong(data, path)
        for index, (codec, item) in enumerate(zip(self._items, data, strict=True)):
            codec.check(item, f"{path}[{index}]")

    def build(self, data: JSON) -> Any:
        items = typing.cast("list[JSON]", data)
        return tuple(codec.build(item) for codec, item in zip(self._items, items, strict=True))

    def encode(self, value: object, path: str) -> JSON:
        if not isinstance(value, (list, tuple)) or len(value) != len(self._items):
            raise self.wrong(value, path)
        return [
            codec.encode(item, f"{path}[{index}]")
            for index, (codec, item) in enumerate(zip(self._items, value, strict=True))
        ]


SCALARS: dict[object, Codec] = {
    str: _Str(),
    int: _Int(),
    float: _Float(),
    bool: _Bool(),
    date: _Parsed(_is_date, date.fromisoformat, "an ISO 8601 date"),
    datetime: _Parsed(_is(datetime), datetime.fromisoformat, "an ISO 8601 date and time"),
    Decimal: _Parsed(_is(Decimal), _decimal, "a finite decimal number written as a string"),
    UUID: _Parsed(_is(UUID), _uuid, "a UUID"),
}
"""The codecs of the types that need no parameters, by type."""
