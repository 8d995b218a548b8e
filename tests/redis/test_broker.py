"""Redis Streams pass the broker and consumer contracts; Redis-specific behaviour besides."""

from __future__ import annotations

import importlib
import logging
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import pytest
import redis

from tactical import (
    BrokerError,
    Command,
    Consumer,
    Envelope,
    Message,
    MessageRegistry,
    dead_letter_stream,
)
from tactical.redis import RedisBroker, check_eviction_policy
from tactical.testing import BrokerContract, ConsumerContract

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.redis.conftest import Server

pytestmark = pytest.mark.redis


def raw_entries(broker: RedisBroker, stream: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """A stream's entries as Redis holds them: bytes."""
    return cast("list[tuple[bytes, dict[bytes, bytes]]]", broker.client.xrange(stream))


class OnRedis:
    """The contracts' fixtures, on the shared Redis server."""

    @pytest.fixture
    def broker(self, redis_broker: RedisBroker) -> RedisBroker:
        return redis_broker

    @pytest.fixture
    def stream(self, unique_name: str) -> str:
        return unique_name


class TestRedisBroker(OnRedis, BrokerContract):
    pass


class TestRedisConsumer(OnRedis, ConsumerContract):
    pass


@pytest.fixture
def broker(redis_broker: RedisBroker) -> RedisBroker:
    return redis_broker


def test_importing_without_redis_py_names_the_extra() -> None:
    """Without redis-py, the ImportError says which extra to install."""
    script = (
        "import sys; sys.modules['redis'] = None\n"
        "try:\n    import tactical.redis\n"
        "except ImportError as error:\n    print(error)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    assert "pip install 'tactical[redis]'" in output


def test_published_entries_have_the_external_contract_fields(
    broker: RedisBroker, stream: str
) -> None:
    """An entry carries data (the JSON payload), id, type, version and occurred_at."""
    envelope = Envelope("Allocated", '{"orderid":"o1"}', "m-1", 1)
    entry_id = broker.publish(stream, envelope)
    [(raw_id, fields)] = raw_entries(broker, stream)
    assert raw_id.decode() == entry_id
    assert fields == {
        b"data": b'{"orderid":"o1"}',
        b"id": b"m-1",
        b"type": b"Allocated",
        b"version": b"1",
    }


def test_entries_that_are_not_utf8_are_dead_lettered_byte_for_byte(
    broker: RedisBroker, stream: str
) -> None:
    """Bytes that are not text fail validation, and reach the dead-letter stream unchanged."""

    broker.client.xadd(stream, {b"type": b"Ping", b"data": b'{"n": "\xff"}', b"\xfe": b"\x00\xff"})
    subscription = broker.subscribe(stream, "g", "c1")
    subscription.start()
    Consumer(subscription, lambda m, e: None, MessageRegistry().message, block=0).poll()
    [(_, fields)] = raw_entries(broker, dead_letter_stream(stream))
    assert fields[b"data"] == b'{"n": "\xff"}'
    assert fields[b"\xfe"] == b"\x00\xff"
    assert b"undecodable" in fields[b"dead_letter_reason"]


def test_a_client_that_decodes_responses_is_refused(redis_url: str) -> None:
    """tactical reads bytes itself; a decoding client would choke on non-UTF-8 entries."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        with pytest.raises(ValueError, match="decode_responses=False"):
            RedisBroker(client)
    finally:
        client.close()


def test_an_entry_deleted_while_pending_is_acknowledged_and_skipped(
    broker: RedisBroker, stream: str
) -> None:
    """XDEL of a pending entry: the restarted consumer acknowledges it and moves on."""
    first = broker.append(stream, {"type": "T", "data": "{}"})
    second = broker.append(stream, {"type": "T", "data": "{}"})
    crashed = broker.subscribe(stream, "g", "c1")
    crashed.start()
    crashed.read(10, 0)
    broker.client.xdel(stream, first)
    restarted = broker.subscribe(stream, "g", "c1")
    assert [entry.entry_id for entry in restarted.read(10, 0)] == [second]
    assert [p.entry_id for p in broker.pending(stream, "g")] == [second]


def test_broker_errors_are_translated(server: Server) -> None:
    """With Redis gone, operations raise BrokerError (a ConnectionError), the cause chained."""
    with RedisBroker.from_url(server.url, socket_timeout=2) as broker:
        broker.publish("s", Envelope("T", "{}", "m"))
        server.stop()
        with pytest.raises(BrokerError) as caught:
            broker.publish("s", Envelope("T", "{}", "m"))
        assert isinstance(caught.value, ConnectionError)
        assert isinstance(caught.value.__cause__, redis.RedisError)
        assert "XADD" in str(caught.value)


def test_an_evicting_policy_is_warned_about_at_start(
    make_server: Callable[..., Server], caplog: pytest.LogCaptureFixture
) -> None:
    """A server that may evict streams gets a warning when a subscription starts."""
    server = make_server("--maxmemory-policy", "allkeys-lru")
    with RedisBroker.from_url(server.url) as broker, caplog.at_level(logging.WARNING):
        broker.subscribe("s", "g", "c").start()
    assert "allkeys-lru" in caplog.text
    assert "noeviction" in caplog.text


def test_no_eviction_policy_means_no_warning(
    broker: RedisBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """The shared server runs noeviction: nothing to warn about."""
    with caplog.at_level(logging.WARNING):
        assert check_eviction_policy(broker.client) == "noeviction"
    assert caplog.text == ""


def test_the_module_is_importable_twice() -> None:
    """Re-importing the adapter is harmless (the extras check runs at import)."""
    import tactical.redis

    assert importlib.reload(tactical.redis).RedisBroker is not None


@dataclass(frozen=True)
class ChangeBatchQuantity(Command):
    """The command inside this service: the batch is ``ref``."""

    ref: str
    qty: int


@dataclass(frozen=True)
class InboundChangeBatchQuantity(Command):
    """The external contract's payload: ``{"batchref", "qty"}``."""

    batchref: str
    qty: int


def test_another_services_format_is_mapped_through_a_registry(
    broker: RedisBroker, stream: str
) -> None:
    """Entries of an external contract (``data`` holding its JSON, ``type``, maybe ``id``)
    are validated by a registry of the contract's types, then mapped to our command;
    entries that break the contract are dead-lettered."""
    inbound = MessageRegistry()
    inbound.register(InboundChangeBatchQuantity, name="ChangeBatchQuantity")

    def decode(envelope: Envelope) -> Message:
        payload = inbound.message(envelope)
        assert isinstance(payload, InboundChangeBatchQuantity)
        return ChangeBatchQuantity(ref=payload.batchref, qty=payload.qty)

    with_id = broker.append(
        stream, {"type": "ChangeBatchQuantity", "data": '{"batchref": "b1", "qty": 5}', "id": "x-1"}
    )
    without_id = broker.append(
        stream, {"type": "ChangeBatchQuantity", "data": '{"batchref": "b2", "qty": 0}'}
    )
    broker.append(stream, {"type": "ChangeBatchQuantity", "data": '{"ref": "b3", "qty": 1}'})
    seen: list[tuple[Message, str]] = []
    subscription = broker.subscribe(stream, "allocation", "c1")
    subscription.start()
    Consumer(subscription, lambda m, e: seen.append((m, e.message_id)), decode, block=0).poll()
    assert seen == [
        (ChangeBatchQuantity("b1", 5), "x-1"),
        (ChangeBatchQuantity("b2", 0), without_id),
    ]
    [letter] = broker.entries(dead_letter_stream(stream))
    assert letter.fields["dead_letter_reason"].startswith("undecodable (extra_field)")
    assert with_id != without_id
