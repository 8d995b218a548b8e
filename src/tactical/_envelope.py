"""`Envelope`: a message as it travels between services, and its flat form in a stream entry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from tactical._exceptions import DeserializationError, SerializationError
from tactical._json import check_size, compact, decode_utf8, malformed, parse_json

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Self

__all__ = [
    "DATA",
    "ID",
    "MAX_HEADER_LENGTH",
    "OCCURRED_AT",
    "TYPE",
    "VERSION",
    "Envelope",
    "dump_document",
    "load_document",
]

DATA = "data"
"""The entry field (and document key) holding the message's JSON payload."""
ID = "id"
"""The entry field holding the unique message id, used for deduplication."""
TYPE = "type"
"""The entry field holding the message's registered type name."""
VERSION = "version"
"""The entry field holding the payload's schema version (``1`` when absent)."""
OCCURRED_AT = "occurred_at"
"""The entry field holding when the message was created (UTC, ISO 8601), optional."""

MAX_HEADER_LENGTH = 256
"""The longest id or type name accepted from incoming data, in characters."""


class Envelope(NamedTuple):
    """A message ready to travel: its JSON payload and the headers around it (immutable).

    Build one from a message with [`MessageRegistry.envelope`][tactical.MessageRegistry.envelope]
    and turn one back into a message with
    [`MessageRegistry.message`][tactical.MessageRegistry.message], which validates it. A
    [`Publisher`][tactical.Publisher] sends envelopes; an outbox stores them.

    In a stream entry an envelope is flat: fields ``data`` (the payload), ``id``, ``type``,
    ``version`` and, when known, ``occurred_at``. Entries that other services write need only
    ``data`` and ``type``: ``version`` defaults to 1, and a missing ``id`` is replaced by the
    stream entry's own id, so that deduplication still works.

    Attributes:
        type: The registered name of the message's type.
        data: The message's fields as a JSON object, in text.
        message_id: A unique id (a UUID for the envelopes tactical builds).
        schema_version: The version of the payload's schema, from 1.
        occurred_at: When the message was created (UTC), when known.

    Example:
        >>> envelope = Envelope("OutOfStock", '{"sku":"LAMP"}', "m-1", 1)
        >>> Envelope.from_fields(envelope.to_fields()) == envelope
        True
        >>> Envelope.from_fields({"type": "OutOfStock", "data": "{}"}, entry_id="1-0").message_id
        '1-0'
    """

    type: str
    data: str
    message_id: str
    schema_version: int = 1
    occurred_at: datetime | None = None

    def to_fields(self) -> dict[str, str]:
        """The envelope as the flat string fields of a stream entry."""
        fields = {
            ID: self.message_id,
            TYPE: self.type,
            VERSION: str(self.schema_version),
            DATA: self.data,
        }
        if self.occurred_at is not None:
            fields[OCCURRED_AT] = format_time(self.occurred_at)
        return fields

    @classmethod
    def from_fields(cls, fields: Mapping[str, str], *, entry_id: str | None = None) -> Self:
        """Read an envelope from the fields of a stream entry; fields it does not know are ignored.

        The payload is not looked at: [`MessageRegistry.message`][tactical.MessageRegistry.message]
        validates it.

        Args:
            fields: The entry's fields.
            entry_id: The stream entry's id: the message id when the entry has no ``id``.

        Raises:
            DeserializationError: A header is missing or malformed (reason ``"malformed"``).
        """
        type_name = _header(fields, TYPE, None)
        if type_name is None:
            raise malformed(f"the entry has no {TYPE!r} field", None)
        message_id = _header(fields, ID, type_name)
        if message_id is None:
            if entry_id is None:
                raise malformed(f"the entry has no {ID!r} field", type_name)
            message_id = entry_id
        data = fields.get(DATA)
        if data is None:
            raise malformed(f"the entry has no {DATA!r} field", type_name)
        return cls(
            type=type_name,
            data=data,
            message_id=message_id,
            schema_version=parse_version(fields.get(VERSION, "1"), type_name),
            occurred_at=_occurred_at(fields.get(OCCURRED_AT), type_name),
        )


def dump_document(envelope: Envelope, *, max_depth: int) -> bytes:
    """The envelope as one JSON document (UTF-8), its payload an object under ``data``.

    Raises:
        SerializationError: ``envelope.data`` is not a JSON object.
    """
    try:
        data = parse_json(envelope.data, max_depth=max_depth, type_name=envelope.type)
    except DeserializationError as error:
        raise SerializationError(str(error), type_name=envelope.type) from None
    if not isinstance(data, dict):
        raise SerializationError("the payload is not a JSON object", type_name=envelope.type)
    occurred_at = envelope.occurred_at
    head = compact(
        {
            ID: envelope.message_id,
            TYPE: envelope.type,
            VERSION: envelope.schema_version,
            OCCURRED_AT: None if occurred_at is None else format_time(occurred_at),
        }
    )
    return f'{head[:-1]},"{DATA}":{envelope.data}}}'.encode()


def load_document(document: bytes | str, *, max_bytes: int, max_depth: int) -> Envelope:
    """Read an envelope from a JSON document that `dump_document` wrote.

    Keys it does not know are ignored; the id must be a UUID.

    Raises:
        DeserializationError: Not such a document (``"malformed"``), or over the limits.
    """
    if isinstance(document, str):
        check_size(document, max_bytes, None)
        text = document
    else:
        text = decode_utf8(document, max_bytes, None)
    parsed = parse_json(text, max_depth=max_depth + 1, type_name=None)
    if not isinstance(parsed, dict):
        raise malformed("the document is not a JSON object", None)
    data = parsed.get(DATA)
    if not isinstance(data, dict):
        raise malformed(f"{DATA!r} must be a JSON object", None)
    version = parsed.get(VERSION, 1)
    headers = {DATA: compact(data), VERSION: str(version) if type(version) is int else ""}
    for key in (ID, TYPE, OCCURRED_AT):
        value = parsed.get(key)
        if isinstance(value, str):
            headers[key] = value
        elif value is not None:
            raise malformed(f"{key!r} must be a string", None)
    envelope = Envelope.from_fields(headers)
    if not _is_uuid(envelope.message_id):
        raise malformed(f"{ID!r} must be a UUID", envelope.type)
    return envelope


def _is_uuid(text: str) -> bool:
    import uuid

    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def format_time(moment: datetime) -> str:
    """``moment`` in UTC as ISO 8601 with microseconds and a ``Z``."""
    if moment.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    text = moment.astimezone(UTC).isoformat(timespec="microseconds")
    return text.removesuffix("+00:00") + "Z"


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with a UTC offset, as an aware UTC datetime.

    Raises:
        ValueError: Not ISO 8601, or no offset.
    """
    if len(text) > 64:  # noqa: PLR2004 - the longest ISO 8601 time is about 40 characters
        raise ValueError("too long")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("no UTC offset")
    return moment.astimezone(UTC)


def parse_version(text: object, type_name: str | None) -> int:
    """A schema version from a header: a positive decimal integer, no sign, no spaces."""
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 9:  # noqa: PLR2004
        version = int(text)
        if version >= 1:
            return version
    raise malformed(f"{VERSION!r} must be a positive integer", type_name)


def _occurred_at(text: str | None, type_name: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise malformed(
            f"{OCCURRED_AT!r} must be an ISO 8601 time with a UTC offset", type_name
        ) from None


def _header(fields: Mapping[str, str], name: str, type_name: str | None) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if not value or len(value) > MAX_HEADER_LENGTH or not value.isprintable():
        raise malformed(
            f"{name!r} must be 1 to {MAX_HEADER_LENGTH} printable characters", type_name
        )
    return value
