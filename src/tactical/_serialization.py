"""`MessageRegistry`: messages to JSON envelopes and back, for registered types only.

Only the types registered here are ever built from incoming data, found by name in a dict:
no class is imported, no code is evaluated, nothing is unpickled. Incoming data is checked
whole, against the type hints resolved at registration, before any object is built.
"""

from __future__ import annotations

import typing
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from tactical._codec import JSON, Invalid, RegistrationProblem, shown
from tactical._envelope import MAX_HEADER_LENGTH, Envelope, dump_document, load_document
from tactical._exceptions import DeserializationError, RegistrationError, SerializationError
from tactical._json import check_size, compact, parse_json
from tactical._messages import Message
from tactical._schema import DataclassCodec, compile_dataclass

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MessageRegistry"]

M = TypeVar("M", bound=Message)
U = TypeVar("U", bound="Callable[[dict[str, Any]], dict[str, Any]]")

MAX_BYTES = 1024 * 1024
"""The default limit on a message's JSON payload (and a whole envelope), in bytes."""
MAX_DEPTH = 32
"""The default limit on how deeply a payload's arrays and objects may nest."""


class _Registered:
    __slots__ = ("codec", "name", "type", "upcasters", "version")

    def __init__(
        self, message_type: type[Message], name: str, version: int, codec: DataclassCodec
    ) -> None:
        self.type = message_type
        self.name = name
        self.version = version
        self.codec = codec
        self.upcasters: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


class MessageRegistry:
    """The message types a service reads and writes as JSON, by name.

    A type is registered under its class name unless given another. Its dataclass fields
    may be ``str``, ``int``, ``float``, ``bool``, ``date``, ``datetime``, ``Decimal``,
    ``UUID``, an `Enum` of str or int values, a (frozen) dataclass of such fields, ``X |
    None``, ``list[X]``, ``tuple[X, ...]`` or a fixed tuple; fields with a default may be
    missing from incoming data. The hints are resolved once, here.

    Reading is strict: an unknown type, a missing, extra or wrong-typed field, a payload
    over ``max_bytes`` or nested deeper than ``max_depth``, NaN or infinity, a duplicate key:
    each raises [`DeserializationError`][tactical.DeserializationError] (with a ``reason``)
    before anything is built.

    Args:
        types: Message types to register under their class names.
        max_bytes: The largest payload (or whole JSON document) accepted, in bytes.
        max_depth: The deepest nesting of arrays and objects accepted in a payload.
        clock: The current time (timezone-aware), for ``occurred_at``.
        new_id: A new unique message id.

    Example:
        >>> from dataclasses import dataclass
        >>> from tactical import Event
        >>> @dataclass(frozen=True)
        ... class Allocated(Event):
        ...     orderid: str
        ...     qty: int
        >>> registry = MessageRegistry([Allocated])
        >>> envelope = registry.envelope(Allocated("o1", 3))
        >>> envelope.type, envelope.data
        ('Allocated', '{"orderid":"o1","qty":3}')
        >>> registry.message(envelope)
        Allocated(orderid='o1', qty=3)
        >>> registry.message(registry.loads(registry.dumps(envelope)))
        Allocated(orderid='o1', qty=3)
    """

    def __init__(
        self,
        types: Iterable[type[Message]] = (),
        *,
        max_bytes: int = MAX_BYTES,
        max_depth: int = MAX_DEPTH,
        clock: Callable[[], datetime] = _now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        if max_bytes < 2 or max_depth < 1:  # noqa: PLR2004 - "{}" is the smallest payload
            raise ValueError("max_bytes must be at least 2 and max_depth at least 1")
        self._by_name: dict[str, _Registered] = {}
        self._by_type: dict[type[Message], _Registered] = {}
        self._max_bytes = max_bytes
        self._max_depth = max_depth
        self._clock = clock
        self._new_id = new_id
        for message_type in types:
            self.register(message_type)

    def register(
        self, message_type: type[M], /, *, name: str | None = None, version: int = 1
    ) -> type[M]:
        """Register a message type, under ``name`` (its class name by default).

        Returns the type, so that ``@registry.register`` works as a class decorator.

        Args:
            message_type: A dataclass that subclasses `Command` or `Event`.
            name: The type's name on the wire.
            version: The current schema version of its payload; older versions are upcast.

        Raises:
            RegistrationError: Not a message dataclass, a field type with no JSON form, the
                name or the type registered already.
        """
        candidate: object = message_type  # checked at run time too: callers may be untyped
        if not (isinstance(candidate, type) and issubclass(candidate, Message)):
            raise RegistrationError(f"{message_type!r} is not a Command or Event type")
        name = message_type.__name__ if name is None else name
        if not (0 < len(name) <= MAX_HEADER_LENGTH and name.isprintable()):
            raise RegistrationError(
                f"name {name!r} must be 1 to {MAX_HEADER_LENGTH} printable characters"
            )
        number: object = version
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise RegistrationError(f"version of {name!r} must be a positive integer")
        if name in self._by_name:
            taken = self._by_name[name].type.__qualname__
            raise RegistrationError(
                f"two types named {name!r}: {taken} and {message_type.__qualname__}"
            )
        if message_type in self._by_type:
            raise RegistrationError(
                f"{message_type.__qualname__} is registered already, "
                f"as {self._by_type[message_type].name!r}"
            )
        try:
            codec = compile_dataclass(message_type)
        except RegistrationProblem as problem:
            raise RegistrationError(f"cannot register {name!r}: {problem}") from None
        entry = _Registered(message_type, name, version, codec)
        self._by_name[name] = entry
        self._by_type[message_type] = entry
        return message_type

    def upcaster(self, name: str, *, from_version: int) -> Callable[[U], U]:
        """Register a function that turns a payload of ``from_version`` into the next version.

        Upcasters chain: a version 1 payload of a type now at version 3 goes through the
        upcaster from 1, then the one from 2, and is then validated as usual.

        Raises:
            RegistrationError: ``name`` is not registered, ``from_version`` is not below its
                current version, or it has an upcaster already.

        Example:
            >>> from dataclasses import dataclass
            >>> from tactical import Event
            >>> @dataclass(frozen=True)
            ... class Allocated(Event):
            ...     orderid: str
            ...     batchref: str
            >>> registry = MessageRegistry()
            >>> _ = registry.register(Allocated, version=2)
            >>> @registry.upcaster("Allocated", from_version=1)
            ... def rename_batch(data: dict) -> dict:
            ...     data["batchref"] = data.pop("batch")
            ...     return data
            >>> old = Envelope("Allocated", '{"orderid":"o1","batch":"b1"}', "m-1", 1)
            >>> registry.message(old)
            Allocated(orderid='o1', batchref='b1')
        """
        entry = self._by_name.get(name)
        if entry is None:
            raise RegistrationError(f"register {name!r} before its upcasters")
        if isinstance(from_version, bool) or not 1 <= from_version < entry.version:
            raise RegistrationError(
                f"an upcaster of {name!r} must start from a version from 1 to {entry.version - 1}"
            )
        if from_version in entry.upcasters:
            raise RegistrationError(f"{name!r} has an upcaster from version {from_version} already")

        def register(upcast: U) -> U:
            entry.upcasters[from_version] = upcast
            return upcast

        return register

    def name_of(self, message_type: type[Message]) -> str:
        """The name ``message_type`` is registered under.

        Raises:
            LookupError: It is not registered.
        """
        entry = self._by_type.get(message_type)
        if entry is None:
            raise LookupError(f"{message_type.__qualname__} is not registered")
        return entry.name

    def __contains__(self, item: object) -> bool:
        """Whether a name, or a type, is registered."""
        return item in self._by_name or item in self._by_type

    def envelope(
        self,
        message: Message,
        *,
        message_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        """Write a message as JSON, in an envelope with a new id and the current time.

        Args:
            message: A message of a registered type.
            message_id: Its id, when it has one already; a new UUID by default.
            occurred_at: When it happened (timezone-aware); now by default.

        Raises:
            SerializationError: Its type is not registered, a value does not match its
                field's type, the payload is over ``max_bytes``, or ``occurred_at`` is naive.
        """
        entry = self._by_type.get(type(message))
        if entry is None:
            raise SerializationError(
                f"{type(message).__qualname__} is not registered", type_name=type(message).__name__
            )
        try:
            payload = entry.codec.encode(message, "")
        except Invalid as invalid:
            raise SerializationError(
                f"{entry.name}: {invalid.detail}", type_name=entry.name, field=invalid.path or None
            ) from None
        data = compact(payload)
        try:
            size = len(data.encode("utf-8"))
        except UnicodeEncodeError:
            raise SerializationError(
                f"{entry.name}: a string is not valid Unicode (a lone surrogate)",
                type_name=entry.name,
            ) from None
        if size > self._max_bytes:
            raise SerializationError(
                f"{entry.name}: the payload is {size} bytes, over the limit of {self._max_bytes}",
                type_name=entry.name,
            )
        moment = self._clock() if occurred_at is None else occurred_at
        if moment.tzinfo is None:
            raise SerializationError(
                f"{entry.name}: occurred_at must be timezone-aware", type_name=entry.name
            )
        return Envelope(
            type=entry.name,
            data=data,
            message_id=self._new_id() if message_id is None else message_id,
            schema_version=entry.version,
            occurred_at=moment,
        )

    def message(self, envelope: Envelope) -> Message:
        """Validate an envelope's payload against its registered type, and build the message.

        Older schema versions go through the type's upcasters first.

        Raises:
            DeserializationError: The payload is not acceptable; see its ``reason``.
        """
        name = envelope.type
        check_size(envelope.data, self._max_bytes, name)
        entry = self._by_name.get(name)
        if entry is None:
            raise DeserializationError(
                f"type {shown(name)} is not registered", reason="unknown_type", type_name=name
            )
        data = parse_json(envelope.data, max_depth=self._max_depth, type_name=name)
        data = _upcast(entry, envelope.schema_version, data)
        try:
            entry.codec.check(data, "")
        except Invalid as invalid:
            raise DeserializationError(
                f"{name}: {invalid.detail}",
                reason=invalid.problem,
                type_name=name,
                field=invalid.path,
            ) from None
        try:
            message: Message = entry.codec.build(data)
        except Exception as error:
            # A __post_init__ that validates rejected the data; say which class and why.
            raise DeserializationError(
                f"{name}: rejected by {entry.type.__qualname__}: {type(error).__name__}: "
                f"{str(error)[:200]}",
                reason="invalid_value",
                type_name=name,
            ) from error
        return message

    def dumps(self, envelope: Envelope) -> bytes:
        """The envelope as one JSON document (UTF-8): id, type, version, occurred_at, data.

        Raises:
            SerializationError: ``envelope.data`` is not a JSON object.
        """
        return dump_document(envelope, max_depth=self._max_depth)

    def loads(self, document: bytes | str) -> Envelope:
        """Read an envelope from a JSON document that `dumps` wrote; unknown keys are ignored.

        The payload is not validated here: pass the envelope to `message`.

        Raises:
            DeserializationError: Not such a document, or over ``max_bytes``.
        """
        return load_document(document, max_bytes=self._max_bytes, max_depth=self._max_depth)


def _upcast(entry: _Registered, version: int, data: JSON) -> JSON:
    if version < entry.version and not isinstance(data, dict):
        raise DeserializationError(
            f"{entry.name}: the payload must be an object",
            reason="wrong_type",
            type_name=entry.name,
        )
    if version > entry.version:
        raise DeserializationError(
            f"{entry.name}: schema version {version} is not supported "
            f"(the current version is {entry.version})",
            reason="unsupported_version",
            type_name=entry.name,
        )
    for step in range(version, entry.version):
        upcast = entry.upcasters.get(step)
        if upcast is None:
            raise DeserializationError(
                f"{entry.name}: no upcaster from schema version {step}",
                reason="unsupported_version",
                type_name=entry.name,
            )
        try:
            data = upcast(typing.cast("dict[str, Any]", data))
        except Exception as error:
            raise DeserializationError(
                f"{entry.name}: the upcaster from version {step} failed: {type(error).__name__}",
                reason="upcast_failed",
                type_name=entry.name,
            ) from error
        if not isinstance(data, dict):
            raise DeserializationError(
                f"{entry.name}: the upcaster from version {step} did not return a dict",
                reason="upcast_failed",
                type_name=entry.name,
            )
    return data
