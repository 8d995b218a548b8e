"""`RedisBroker`: publish envelopes with XADD; read streams; hand out consumer-group members."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Self

import redis

from tactical._broker import Entry, PendingEntry
from tactical.redis._subscription import RedisSubscription
from tactical.redis._wire import check_client, encode_fields, parse_entries, text, translated

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import TracebackType

    from tactical._envelope import Envelope

__all__ = ["RedisBroker", "check_eviction_policy"]

logger = logging.getLogger("tactical.redis")

_PAGE = 1000


class RedisBroker:
    """Redis Streams as a [`Broker`][tactical.Broker]: XADD to publish, groups to consume.

    Publishing never trims a stream: Redis 7.0 cannot trim without possibly dropping entries
    that a group has not acknowledged. Trim by hand (``XTRIM MINID``) below the oldest entry
    every group still needs.

    Args:
        client: A redis-py client made with ``decode_responses=False`` (the default); its
            ``socket_timeout`` must exceed a consumer's ``block``. The broker does not close
            a client it was given.

    Raises:
        ValueError: The client decodes responses.

    Example:
        >>> from tactical.redis import RedisBroker
        >>> broker = RedisBroker.from_url("redis://127.0.0.1:6379/0")  # doctest: +SKIP
        >>> broker.publish("line_allocated", registry.envelope(event))  # doctest: +SKIP
        '1717171717171-0'
    """

    def __init__(self, client: redis.Redis) -> None:
        check_client(client)
        self._client = client
        self._owned = False

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Self:
        """A broker with a client of its own, closed by `close`.

        Args:
            url: A Redis URL (``redis://host:port/db``, ``unix:///path``, ``rediss://``...).
            **options: More options for `redis.Redis.from_url`.
        """
        broker = cls(redis.Redis.from_url(url, **options))
        broker._owned = True
        return broker

    @property
    def client(self) -> redis.Redis:
        """The redis-py client."""
        return self._client

    def publish(self, stream: str, envelope: Envelope, /) -> str:
        """XADD the envelope's fields to ``stream``; return the entry id.

        Raises:
            BrokerError: Redis failed or is unreachable.
        """
        return self.append(stream, envelope.to_fields())

    def publish_many(self, messages: Sequence[tuple[str, Envelope]], /) -> list[str]:
        """XADD each ``(stream, envelope)`` in order, in one pipeline; return the entry ids.

        Raises:
            BrokerError: Redis failed; some of the envelopes may have been appended.
        """
        if not messages:
            return []
        with (
            translated("XADD", messages[0][0]),
            self._client.pipeline(transaction=False) as pipe,
        ):
            for stream, envelope in messages:
                pipe.xadd(stream, encode_fields(envelope.to_fields()))  # type: ignore[arg-type]
            return [text(entry_id) for entry_id in pipe.execute()]

    def append(self, stream: str, fields: Mapping[str, str], /) -> str:
        """XADD an entry of arbitrary string fields; return its id."""
        with translated("XADD", stream):
            entry_id = self._client.xadd(stream, encode_fields(fields))  # type: ignore[arg-type]
        return text(entry_id)

    def subscribe(self, stream: str, group: str, consumer: str) -> RedisSubscription:
        """A subscription of ``consumer`` (a name stable across restarts) to ``group``."""
        return RedisSubscription(self._client, stream, group, consumer)

    def entries(self, stream: str) -> list[Entry]:
        """Every entry of ``stream`` (XRANGE, in pages), oldest first."""
        found: list[Entry] = []
        start = "-"
        while True:
            with translated("XRANGE", stream):
                page = parse_entries(self._client.xrange(stream, start, "+", count=_PAGE))
            found.extend(Entry(entry_id, fields or {}) for entry_id, fields in page)
            if len(page) < _PAGE:
                return found
            start = f"({page[-1][0]}"

    def pending(self, stream: str, group: str) -> list[PendingEntry]:
        """The delivered, unacknowledged entries of ``group`` (XPENDING, in pages)."""
        found: list[PendingEntry] = []
        start = "-"
        while True:
            with translated("XPENDING", stream):
                page = self._client.xpending_range(stream, group, start, "+", _PAGE)
            found.extend(
                PendingEntry(text(p["message_id"]), text(p["consumer"]), int(p["times_delivered"]))
                for p in page
            )
            if len(page) < _PAGE:
                return found
            start = f"({found[-1].entry_id}"

    def close(self) -> None:
        """Close the client, if the broker made it (`from_url`)."""
        if self._owned:
            self._client.close()

    def __enter__(self) -> Self:
        """The broker itself; `close` on leaving."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client, if the broker made it."""
        self.close()


def check_eviction_policy(client: redis.Redis) -> str | None:
    """Warn (log) when Redis may evict keys, streams included; return the policy.

    With ``maxmemory-policy`` other than ``noeviction``, Redis under memory pressure deletes
    keys: an ``allkeys-*`` policy may delete a stream with everything pending in it; a
    ``volatile-*`` one deletes only keys with a TTL, which streams should never have. Returns
    ``None`` when the server does not let us ask (managed services often forbid CONFIG).

    Example:
        >>> class Server:  # stands in for a redis.Redis client here
        ...     def config_get(self, name: str) -> dict[str, bytes]:
        ...         return {name: b"noeviction"}
        >>> check_eviction_policy(Server())
        'noeviction'
    """
    try:
        reply = client.config_get("maxmemory-policy")
    except redis.RedisError as error:
        logger.info("could not read maxmemory-policy: %s", type(error).__name__)
        return None
    policy = text(next(iter(reply.values()), b""))
    if policy.startswith("allkeys"):
        logger.warning(
            "Redis maxmemory-policy is %s: under memory pressure Redis may evict streams and "
            "lose messages; set it to noeviction",
            policy,
        )
    elif policy and policy != "noeviction":
        logger.warning(
            "Redis maxmemory-policy is %s: keys with a TTL may be evicted; never give a stream "
            "a TTL, or set the policy to noeviction",
            policy,
        )
    return policy or None
