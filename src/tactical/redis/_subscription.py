"""`RedisSubscription`: one consumer of a Redis consumer group, for a `Consumer` to run."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import redis

from tactical._broker import Entry, dead_letter_fields, dead_letter_stream
from tactical.redis._wire import encode_fields, parse_entries, text, translated

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["RedisSubscription"]

logger = logging.getLogger("tactical.redis")

_TAKE_BACK = """
local owner = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #owner == 0 or owner[1][2] ~= ARGV[2] then return false end
local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3])
if #claimed == 0 or not claimed[1] then return false end
return {claimed[1][1], claimed[1][2], owner[1][4] + 1}
"""
"""Claim an entry again for the consumer that holds it, atomically, or return nothing."""

_SCAN_ROUNDS = 10
"""How many XAUTOCLAIM pages one `claim_stale` looks through for stale entries."""


class RedisSubscription:
    """A consumer in a Redis consumer group; see [`Subscription`][tactical.Subscription].

    `start` creates the group with ``MKSTREAM`` at id ``0``, so entries published before any
    consumer existed are delivered, and checks the server's eviction policy. Reads first
    re-read this consumer's own pending entries (``XREADGROUP`` from id ``0``), then new ones
    (``>``). Stale entries are claimed with ``XAUTOCLAIM``; a dead letter is an ``XADD`` to
    ``<stream>:dead-letter`` and an ``XACK`` in one ``MULTI``.

    Args:
        client: A redis-py client with ``decode_responses=False``.
        stream: The stream.
        group: The consumer group.
        consumer: This consumer's name, stable across restarts (a pod or host name), so
            that its pending entries come back to it.

    Example:
        >>> import redis
        >>> client = redis.Redis()  # connects on the first command, not here
        >>> subscription = RedisSubscription(client, "line_allocated", "billing", "worker-1")
        >>> subscription.stream, subscription.group, subscription.consumer
        ('line_allocated', 'billing', 'worker-1')
        >>> client.close()
    """

    def __init__(self, client: redis.Redis, stream: str, group: str, consumer: str) -> None:
        self._client = client
        self._stream = stream
        self._group = group
        self._consumer = consumer
        self._backlog_after: str | None = "0"
        self._claim_cursor = "0-0"
        self._take_back = client.register_script(_TAKE_BACK)

    @property
    def stream(self) -> str:
        """The stream read."""
        return self._stream

    @property
    def group(self) -> str:
        """The consumer group."""
        return self._group

    @property
    def consumer(self) -> str:
        """This consumer's name."""
        return self._consumer

    def start(self) -> None:
        """Create the group (from id 0, creating the stream) unless it exists; check eviction."""
        from tactical.redis._broker import check_eviction_policy

        with translated("XGROUP CREATE", self._stream):
            try:
                self._client.xgroup_create(self._stream, self._group, id="0", mkstream=True)
            except redis.ResponseError as error:
                if not str(error).startswith("BUSYGROUP"):
                    raise
        check_eviction_policy(self._client)
        self._backlog_after = "0"

    def read(self, count: int, block: float) -> list[Entry]:
        """This consumer's pending entries first (after a restart), then new entries."""
        while self._backlog_after is not None:
            with translated("XREADGROUP", self._stream):
                reply = self._client.xreadgroup(
                    self._group, self._consumer, {self._stream: self._backlog_after}, count=count
                )
            backlog = self._entries(reply)
            if not backlog:
                self._backlog_after = None
                break
            self._backlog_after = backlog[-1][0]
            live = [(entry_id, fields) for entry_id, fields in backlog if fields is not None]
            if live:
                return self._with_deliveries(live)
        with translated("XREADGROUP", self._stream):
            reply = self._client.xreadgroup(
                self._group,
                self._consumer,
                {self._stream: ">"},
                count=count,
                block=max(1, round(block * 1000)) if block > 0 else None,
            )
        return [Entry(i, f, 1) for i, f in self._entries(reply) if f is not None]

    def claim_stale(self, min_idle: float, count: int) -> list[Entry]:
        """XAUTOCLAIM up to ``count`` entries idle for ``min_idle`` seconds, at any consumer."""
        claimed: list[tuple[str, dict[str, str]]] = []
        for _ in range(_SCAN_ROUNDS):
            with translated("XAUTOCLAIM", self._stream):
                reply = self._client.xautoclaim(
                    self._stream,
                    self._group,
                    self._consumer,
                    min_idle_time=round(min_idle * 1000),
                    start_id=self._claim_cursor,
                    count=count - len(claimed),
                )
            self._claim_cursor = text(reply[0])
            claimed.extend((i, f) for i, f in parse_entries(reply[1]) if f is not None)
            if len(claimed) >= count or self._claim_cursor == "0-0":
                break
        return self._with_deliveries(claimed) if claimed else []

    def redeliver(self, entry_id: str) -> Entry | None:
        """Claim the entry again if this consumer still holds it (XPENDING + XCLAIM, atomic)."""
        with translated("XCLAIM", self._stream):
            reply = self._take_back(
                keys=[self._stream], args=[self._group, self._consumer, entry_id]
            )
        if not reply:
            return None
        [(claimed_id, fields)] = parse_entries([(reply[0], reply[1])])
        return Entry(claimed_id, fields or {}, int(reply[2]))

    def ack(self, *entry_ids: str) -> None:
        """XACK the entries, in one command."""
        if entry_ids:
            with translated("XACK", self._stream):
                self._client.xack(self._stream, self._group, *entry_ids)

    def dead_letter(self, entry: Entry, reason: str) -> None:
        """XADD to ``<stream>:dead-letter`` and XACK, in one MULTI/EXEC transaction."""
        fields = dead_letter_fields(entry, reason, group=self._group, consumer=self._consumer)
        with (
            translated("dead-letter", self._stream),
            self._client.pipeline(transaction=True) as pipe,
        ):
            pipe.xadd(dead_letter_stream(self._stream), encode_fields(fields))  # type: ignore[arg-type]
            pipe.xack(self._stream, self._group, entry.entry_id)
            pipe.execute()

    def close(self) -> None:
        """Nothing of its own to release: the client belongs to whoever made it."""

    def _entries(self, reply: Any) -> list[tuple[str, dict[str, str] | None]]:
        if not reply:
            return []
        entries = parse_entries(reply[0][1])
        for entry_id, fields in entries:
            if fields is None:  # deleted from the stream while pending: nothing to handle
                logger.warning(
                    "entry %s of stream %s was deleted while pending; acknowledging it",
                    entry_id,
                    self._stream,
                )
                self.ack(entry_id)
        return entries

    def _with_deliveries(self, entries: Sequence[tuple[str, dict[str, str]]]) -> list[Entry]:
        """The entries with their delivery counts, which only XPENDING tells."""
        with translated("XPENDING", self._stream), self._client.pipeline(transaction=False) as pipe:
            for entry_id, _ in entries:
                pipe.xpending_range(self._stream, self._group, entry_id, entry_id, 1)
            replies = pipe.execute()
        counts = {
            text(reply[0]["message_id"]): int(reply[0]["times_delivered"])
            for reply in replies
            if reply
        }
        return [Entry(i, f, counts.get(i, 1)) for i, f in entries]
