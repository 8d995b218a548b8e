"""What goes over the wire: bytes to text without loss, replies to entries, errors translated."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import redis

from tactical._exceptions import BrokerError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["check_client", "encode_fields", "parse_entries", "text", "translated"]


def text(value: object) -> str:
    """Bytes from Redis as text; bytes that are not UTF-8 survive as surrogate escapes.

    An entry with such bytes fails validation (the registry refuses lone surrogates) and is
    dead-lettered, where `encode_fields` turns the escapes back into the very same bytes.
    """
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape")
    return str(value)


def encode_fields(fields: Mapping[str, str]) -> dict[bytes, bytes]:
    """Fields as bytes for Redis, restoring any bytes that `text` escaped."""
    return {
        key.encode("utf-8", errors="surrogateescape"): value.encode(
            "utf-8", errors="surrogateescape"
        )
        for key, value in fields.items()
    }


def parse_entries(entries: Any) -> list[tuple[str, dict[str, str] | None]]:
    """``[(id, fields)]`` from a reply; fields are ``None`` for an entry deleted from the stream.

    An entry always has a field, so no fields (redis-py reads Redis's nil as ``{}``) means
    the entry was deleted after it was delivered.
    """
    parsed: list[tuple[str, dict[str, str] | None]] = []
    for entry_id, fields in entries or ():
        if not fields:
            parsed.append((text(entry_id), None))
        elif isinstance(fields, dict):
            parsed.append((text(entry_id), {text(k): text(v) for k, v in fields.items()}))
        else:  # a flat [field, value, ...] list, as scripts return it
            pairs = iter(fields)
            parsed.append(
                (text(entry_id), {text(k): text(v) for k, v in zip(pairs, pairs, strict=False)})
            )
    return parsed


@contextlib.contextmanager
def translated(operation: str, stream: str) -> Iterator[None]:
    """Turn redis-py's errors into `BrokerError`, with the operation and the stream named."""
    try:
        yield
    except redis.RedisError as error:
        raise BrokerError(
            f"Redis {operation} on stream {stream!r} failed: {type(error).__name__}: {error}"
        ) from error


def check_client(client: redis.Redis) -> None:
    """Refuse a client whose replies tactical cannot read as it needs.

    A client that decodes replies itself would fail on bytes that are not UTF-8.

    Raises:
        ValueError: The client was made with ``decode_responses=True``, or speaks RESP3.
    """
    options = client.connection_pool.connection_kwargs
    if options.get("decode_responses"):
        raise ValueError(
            "pass a Redis client made with decode_responses=False: tactical decodes entries "
            "itself, so that an entry that is not UTF-8 is dead-lettered, not stuck"
        )
    if str(options.get("protocol") or 2) != "2":
        raise ValueError("pass a Redis client that speaks RESP2 (protocol=2, the default)")
