"""Compile a dataclass's type hints, once, into the codec that reads and writes it as JSON."""

from __future__ import annotations

import enum
import types
import typing
from typing import Any, Union

from tactical._codec import (
    JSON,
    SCALARS,
    ArrayCodec,
    Codec,
    EnumCodec,
    Invalid,
    OptionalCodec,
    RegistrationProblem,
    TupleCodec,
    shown,
    where,
)

__all__ = ["DataclassCodec", "compile_dataclass"]


class DataclassCodec(Codec):
    """A dataclass as a JSON object of exactly its fields; those with defaults may be left out."""

    __slots__ = ("_fields", "_required", "_type", "expected")

    def __init__(
        self, kind: type[Any], fields: dict[str, Codec], required: tuple[str, ...]
    ) -> None:
        self._type = kind
        self._fields = fields
        self._required = required
        self.expected = f"an object ({kind.__qualname__})"

    def check(self, data: JSON, path: str) -> None:
        if not isinstance(data, dict):
            raise self.wrong(data, path)
        fields = self._fields
        for name in data:
            if name not in fields:
                raise Invalid(
                    "extra_field",
                    path,
                    f"{where(path)}has a field {shown(name)} that "
                    f"{self._type.__qualname__} does not declare",
                )
        for name in self._required:
            if name not in data:
                raise Invalid(
                    "missing_field", join(path, name), f"field {join(path, name)!r} is missing"
                )
        for name, item in data.items():
            fields[name].check(item, join(path, name))

    def build(self, data: JSON) -> Any:
        items = typing.cast("dict[str, JSON]", data)
        fields = self._fields
        return self._type(**{name: fields[name].build(item) for name, item in items.items()})

    def encode(self, value: object, path: str) -> JSON:
        if type(value) is not self._type:
            raise self.wrong(value, path)
        return {
            name: codec.encode(getattr(value, name), join(path, name))
            for name, codec in self._fields.items()
        }


def join(path: str, name: str) -> str:
    """The path of field ``name`` inside the value at ``path``."""
    return f"{path}.{name}" if path else name


def compile_dataclass(kind: type[Any]) -> DataclassCodec:
    """The codec of a dataclass, compiled from its resolved type hints.

    Raises:
        RegistrationProblem: A field's type is not supported, or the type refers to itself.
    """
    return _Compiler().dataclass(kind)


class _Compiler:
    def __init__(self) -> None:
        self._done: dict[type[Any], DataclassCodec] = {}
        self._open: set[type[Any]] = set()

    def dataclass(self, kind: type[Any]) -> DataclassCodec:
        import dataclasses  # here: registering needs it, `import tactical` does not

        if kind in self._done:
            return self._done[kind]
        if not dataclasses.is_dataclass(kind):
            raise RegistrationProblem(f"{kind!r} is not a dataclass")
        if kind in self._open:
            raise RegistrationProblem(
                f"{kind.__qualname__} contains itself; recursive types are not supported"
            )
        self._open.add(kind)
        try:
            hints = typing.get_type_hints(kind)
        except Exception as error:  # any failure to resolve is a registration problem
            raise RegistrationProblem(
                f"cannot resolve the annotations of {kind.__qualname__}: {error}"
            ) from error
        fields: dict[str, Codec] = {}
        required: list[str] = []
        for field in dataclasses.fields(kind):
            if not field.init:
                continue  # derived in __post_init__: neither written nor read
            try:
                fields[field.name] = self.hint(hints[field.name])
            except RegistrationProblem as problem:
                raise RegistrationProblem(f"{kind.__qualname__}.{field.name}: {problem}") from None
            if (
                field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING
            ):
                required.append(field.name)
        codec = DataclassCodec(kind, fields, tuple(required))
        self._open.discard(kind)
        self._done[kind] = codec
        return codec

    def hint(self, hint: object) -> Codec:
        import dataclasses

        if hint in SCALARS:
            return SCALARS[hint]
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return EnumCodec(hint)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self.dataclass(hint)
        origin = typing.get_origin(hint)
        arguments = typing.get_args(hint)
        if origin in (Union, types.UnionType):
            others = [a for a in arguments if a is not type(None)]
            if len(others) == 1 and len(arguments) == 2:  # noqa: PLR2004 - X | None
                return OptionalCodec(self.hint(others[0]))
            raise RegistrationProblem(f"{hint} is a union; only `X | None` is supported")
        if origin is list and len(arguments) == 1:
            return ArrayCodec(self.hint(arguments[0]), list)
        if origin is tuple and len(arguments) == 2 and arguments[1] is Ellipsis:  # noqa: PLR2004
            return ArrayCodec(self.hint(arguments[0]), tuple)
        if origin is tuple and arguments and Ellipsis not in arguments:
            return TupleCodec(tuple(self.hint(a) for a in arguments))
        raise RegistrationProblem(
            f"type {getattr(hint, '__qualname__', hint)} is not supported (use str, int, float, "
            "bool, date, datetime, Decimal, UUID, an Enum, a dataclass, list[X], tuple[X, ...], "
            "a fixed tuple, or X | None)"
        )
