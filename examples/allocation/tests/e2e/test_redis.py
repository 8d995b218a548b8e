"""Events between services, end to end: real serve, consume and relay processes on PostgreSQL
and Redis.

Each test gives the service a stream prefix of its own, so its streams are new and no other
test (or test run) shares them.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from examples.allocation.tests.e2e.conftest import wait_until

from tactical.redis import RedisBroker

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from examples.allocation.tests.e2e.conftest import Launcher, Server

WITHIN = 10.0
"""Seconds a message may take to go through: "a few seconds"."""


class Streams:
    """The service's streams on Redis, under the test's prefix."""

    def __init__(self, broker: RedisBroker, prefix: str) -> None:
        self.broker = broker
        self.client = broker.client
        self.prefix = prefix

    def add(self, stream: str, fields: dict[str, str]) -> None:
        self.broker.append(self.prefix + stream, fields)

    def entries(self, stream: str) -> list[Mapping[str, str]]:
        return [entry.fields for entry in self.broker.entries(self.prefix + stream)]

    def payloads(self, stream: str) -> list[Any]:
        return [json.loads(fields["data"]) for fields in self.entries(stream)]


@pytest.fixture
def streams(redis_url: str) -> Iterator[Streams]:
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    with RedisBroker.from_url(redis_url) as broker:
        yield Streams(broker, prefix)
        for key in broker.client.scan_iter(match=f"{prefix}*"):
            broker.client.delete(key)


@pytest.fixture
def service(
    start: Launcher, postgres_url: str, redis_url: str, streams: Streams
) -> Iterator[Server]:
    """``serve``, ``consume`` and ``relay`` on PostgreSQL and Redis; the server is returned."""
    settings = {
        "ALLOCATION_DATABASE_URL": postgres_url,
        "ALLOCATION_REDIS_URL": redis_url,
        "ALLOCATION_STREAM_PREFIX": streams.prefix,
    }
    server = start.serve(settings=settings)  # creates the schema before the others start
    start("consume", "--name", "e2e", settings=settings)
    start("relay", settings=settings)
    yield server
    for process in start.processes:
        assert process.stop() == 0, process.output()
        assert "Traceback" not in process.output(), process.output()


def name(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}"


# --8<-- [start:reallocation]
def test_change_batch_quantity_leading_to_reallocation(service: Server, streams: Streams) -> None:
    """The book's scenario: a batch shrinks (a Redis message) and the order moves to the next one.

    The service publishes ``line_allocated`` for the first allocation and for the new one.
    """
    orderid, sku = name("order"), name("sku")
    earlier_batch, later_batch = name("earlier"), name("later")
    for ref, eta in [(earlier_batch, "2011-01-01"), (later_batch, "2011-01-02")]:
        assert service.post("/add_batch", {"ref": ref, "sku": sku, "qty": 10, "eta": eta})[0] == 201
    assert service.post("/allocate", {"orderid": orderid, "sku": sku, "qty": 10}) == (202, "OK")
    assert service.get(f"/allocations/{orderid}") == (
        200,
        [{"sku": sku, "batchref": earlier_batch}],
    )

    streams.add(
        "change_batch_quantity",
        {
            "data": json.dumps({"batchref": earlier_batch, "qty": 5}),
            "id": str(uuid.uuid4()),
            "type": "ChangeBatchQuantity",
        },
    )

    def allocated(batchref: str) -> dict[str, Any]:
        return {"orderid": orderid, "sku": sku, "qty": 10, "batchref": batchref}

    wait_until(
        lambda: (
            streams.payloads("line_allocated") == [allocated(earlier_batch), allocated(later_batch)]
        ),
        "line_allocated to the later batch",
        WITHIN,
    )
    [first, second] = streams.entries("line_allocated")
    assert (first["type"], second["type"]) == ("Allocated", "Allocated")
    assert first["id"] != second["id"]
    assert service.get(f"/allocations/{orderid}") == (200, [{"sku": sku, "batchref": later_batch}])
    # --8<-- [end:reallocation]


def test_entries_it_cannot_take_are_dead_lettered(service: Server, streams: Streams) -> None:
    """An entry of another type, or with a bad payload, goes to the dead-letter stream, with why."""
    batch = name("batch")
    assert service.post("/add_batch", {"ref": batch, "sku": name("sku"), "qty": 10})[0] == 201
    streams.add("change_batch_quantity", {"data": "{}", "id": "m-1", "type": "Allocated"})
    streams.add(
        "change_batch_quantity",
        {
            "data": json.dumps({"batchref": batch, "qty": -1}),
            "id": "m-2",
            "type": "ChangeBatchQuantity",
        },
    )
    streams.add(
        "change_batch_quantity",
        {"data": json.dumps({"batchref": batch, "qty": 3}), "type": "ChangeBatchQuantity"},
    )

    wait_until(
        lambda: len(streams.entries("change_batch_quantity:dead-letter")) == 2,
        "two dead letters",
        WITHIN,
    )
    dead = {
        entry["id"]: entry["dead_letter_reason"]
        for entry in streams.entries("change_batch_quantity:dead-letter")
    }
    assert dead == {
        "m-1": "undecodable (unknown_type): this stream takes ChangeBatchQuantity entries only",
        "m-2": "undecodable (invalid_value): qty must be an integer from 0 to 2147483647",
    }


def test_a_redelivered_message_is_handled_once(service: Server, streams: Streams) -> None:
    """The same message id twice: the batch changes once (the inbox remembers the first)."""
    orderid, sku, batch, other = name("order"), name("sku"), name("b"), name("b")
    service.post("/add_batch", {"ref": batch, "sku": sku, "qty": 10, "eta": None})
    service.post("/add_batch", {"ref": other, "sku": sku, "qty": 10, "eta": "2011-01-01"})
    message = {
        "data": json.dumps({"batchref": batch, "qty": 4}),
        "id": str(uuid.uuid4()),
        "type": "ChangeBatchQuantity",
    }
    streams.add("change_batch_quantity", message)
    wait_until(lambda: _consumed(streams, 1), "the first delivery to be acknowledged", WITHIN)
    # Had it been handled again, an order of 8 would no longer fit... so grow it back first.
    streams.add(
        "change_batch_quantity",
        {
            "data": json.dumps({"batchref": batch, "qty": 10}),
            "id": str(uuid.uuid4()),
            "type": "ChangeBatchQuantity",
        },
    )
    streams.add("change_batch_quantity", message)
    wait_until(lambda: _consumed(streams, 3), "all three deliveries to be acknowledged", WITHIN)
    assert service.post("/allocate", {"orderid": orderid, "sku": sku, "qty": 8}) == (202, "OK")
    assert service.get(f"/allocations/{orderid}") == (200, [{"sku": sku, "batchref": batch}])


def _consumed(streams: Streams, count: int) -> bool:
    """Whether the service's group has read and acknowledged ``count`` inbound entries."""
    stream = streams.prefix + "change_batch_quantity"
    if not streams.client.exists(stream):
        return False
    groups = streams.client.xinfo_groups(stream)
    return any(
        group["name"] == b"allocation"
        and group["pending"] == 0
        and group.get("entries-read") == count
        for group in groups
    )
