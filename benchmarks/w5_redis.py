"""W5, events across Redis: from committed outbox rows to handled-and-acknowledged.

The events are the W1 data set's ``Allocated`` events (n = 10,000 over P = 1,000 products),
computed in memory beforehand. Each round runs in a fresh process, which runs both variants
one after the other (the order alternates by round):

- ``tactical``: a fresh PostgreSQL database with tactical's outbox table. A producer (the main
  thread) writes the events with `tactical.sqlalchemy.Outbox` (``put`` in a session) and
  commits them, 100 per transaction, as fast as it can; meanwhile an `OutboxRelay` (a
  thread, tactical's defaults: 500 rows a round, a 0.5 s poll when idle) publishes the
  committed rows to a Redis stream through `tactical.redis.RedisBroker` (pipelined XADD), and
  a `tactical.Consumer` on a `RedisSubscription` (another thread, its defaults: 10 entries a
  read) decodes each entry with the `MessageRegistry`, hands it to the read-model handler and
  acknowledges it. Latency is, for each event, the time its transaction committed to the time
  its handler ran.
- ``floor``: raw redis-py on the same payloads (the very fields the relay publishes): XADD in
  pipelines of 500, then XREADGROUP (500 a read), the read-model row from the JSON payload,
  XACK. Latency is from the end of the pipeline that added the entry to its handling; the
  phases do not overlap, so this latency is mostly waiting for the other entries.

Events per second is the number of events over the time from the first commit (the first
XADD) to the last acknowledgement. Both variants build the same read model, rows in stream
order: the checksum proves it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from benchmarks._harness import Failure, Machine, run_json_child

if TYPE_CHECKING:
    from collections.abc import Callable

    import redis

    from allocation.domain.events import Allocated

VARIANTS = ("floor", "tactical")
ROUNDS = 3
QUICK_ROUNDS = 1
FULL = {"n": 10_000, "products": 1_000}
QUICK = {"n": 1_000, "products": 100}
PER_TRANSACTION = 100
PIPELINE = 500
GROUP = "bench"
DEADLINE = 300.0
"""Seconds a variant may take before the run counts as failed (something is stuck)."""


class Sample(TypedDict):
    """One variant in one run."""

    variant: str
    round: int
    events: int
    seconds: float
    events_per_second: float
    latency_median_ms: float
    latency_p99_ms: float
    checksum: str


class Row(TypedDict):
    """A variant over the rounds: medians, and the same-round ratio to the floor."""

    variant: str
    events_per_second: float | None
    ratio_to_floor: float | None
    latency_median_ms: float | None
    latency_p99_ms: float | None
    status: str


class RedisResult(TypedDict):
    """What W5 reports."""

    kind: Literal["redis"]
    workload: str
    title: str
    rounds: int
    quick: bool
    command: str
    machine: Machine
    events: int
    expected_checksum: str | None
    rows: list[Row]
    samples: list[Sample]


def allocated_events(n: int, products: int) -> list[Allocated]:
    """The data set's ``Allocated`` events, as the domain records them (in memory)."""
    from allocation.domain import events
    from allocation.domain.model import OrderLine
    from benchmarks._dataset import build_products, command_args

    catalogue = build_products(products, 3)
    recorded: list[Allocated] = []
    for orderid, sku, qty in command_args(n, products):
        product = catalogue[sku]
        product.allocate(OrderLine(orderid, sku, qty))
        recorded.extend(e for e in product.events if isinstance(e, events.Allocated))
        product.events.clear()
    return recorded


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _sample(
    variant: str, started: float, ended: float, latencies: list[float], rows: list[tuple[str, ...]]
) -> Sample:
    from benchmarks._dataset import checksum

    seconds = ended - started
    return Sample(
        variant=variant,
        round=0,
        events=len(rows),
        seconds=seconds,
        events_per_second=len(rows) / seconds,
        latency_median_ms=statistics.median(latencies) * 1e3,
        latency_p99_ms=percentile(latencies, 0.99) * 1e3,
        checksum=checksum(rows),  # type: ignore[arg-type]
    )


def run_floor(client: redis.Redis, fields: list[dict[str, str]]) -> Sample:
    """Raw redis-py: pipelined XADD of every payload, then XREADGROUP and XACK until done."""
    stream = f"bench-w5-floor-{uuid.uuid4().hex[:12]}"
    client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    added: dict[bytes, float] = {}
    rows: list[tuple[str, ...]] = []
    latencies: list[float] = []
    try:
        started = time.perf_counter()
        for first in range(0, len(fields), PIPELINE):
            with client.pipeline(transaction=False) as pipe:
                for entry in fields[first : first + PIPELINE]:
                    pipe.xadd(stream, entry)  # type: ignore[arg-type]
                ids = pipe.execute()
            now = time.perf_counter()
            added.update((entry_id, now) for entry_id in ids)
        while len(rows) < len(fields):
            reply: Any = client.xreadgroup(
                GROUP, "floor", {stream: ">"}, count=PIPELINE, block=1000
            )
            if not reply:
                continue
            entries = reply[0][1]
            for entry_id, entry in entries:
                data = json.loads(entry[b"data"])
                rows.append((data["orderid"], data["sku"], data["batchref"]))
                latencies.append(time.perf_counter() - added[entry_id])
            client.xack(stream, GROUP, *(entry_id for entry_id, _ in entries))
        ended = time.perf_counter()
    finally:
        client.delete(stream)
    return _sample("floor", started, ended, latencies, rows)


def run_tactical(client: redis.Redis, events: list[Allocated]) -> Sample:
    """Outbox rows committed by a producer, relayed to Redis, consumed: all at once."""
    from sqlalchemy import MetaData

    from allocation.domain import events as domain_events
    from benchmarks._databases import POSTGRESQL, fresh_database
    from tactical import Consumer, MessageRegistry
    from tactical.redis import RedisBroker
    from tactical.sqlalchemy import (
        Outbox,
        OutboxRelay,
        create_engine,
        create_schema,
        create_session_factory,
        outbox_table,
    )

    stream = f"bench-w5-{uuid.uuid4().hex[:12]}"
    registry = MessageRegistry([domain_events.Allocated])
    metadata = MetaData()
    outbox = Outbox(outbox_table(metadata), registry, {domain_events.Allocated: stream})
    broker = RedisBroker(client)
    committed: dict[str, float] = {}
    rows: list[tuple[str, ...]] = []
    latencies: list[float] = []
    total = len(events)
    with fresh_database(POSTGRESQL) as database:
        engine = create_engine(database.url)
        create_schema(engine, metadata)
        sessions = outbox.sessions(create_session_factory(engine))
        relay = OutboxRelay(engine, outbox.table, broker)

        def handle(message: object, envelope: object) -> None:
            assert isinstance(message, domain_events.Allocated)
            latencies.append(time.perf_counter() - committed[envelope.message_id])  # type: ignore[attr-defined]
            rows.append((message.orderid, message.sku, message.batchref))
            if len(rows) == total:
                consumer.stop()

        consumer = Consumer(broker.subscribe(stream, GROUP, "consumer-1"), handle, registry.message)
        ended: list[float] = []

        def consume() -> None:
            consumer.run()
            ended.append(time.perf_counter())

        threads = [threading.Thread(target=relay.run), threading.Thread(target=consume)]
        try:
            for thread in threads:
                thread.start()
            started = time.perf_counter()
            for first in range(0, total, PER_TRANSACTION):
                with sessions() as session:
                    ids = [
                        outbox.put(session, stream, event).message_id
                        for event in events[first : first + PER_TRANSACTION]
                    ]
                    session.commit()
                now = time.perf_counter()
                committed.update((message_id, now) for message_id in ids)
            threads[1].join(DEADLINE)
        finally:
            consumer.stop()
            relay.stop()
            for thread in threads:
                thread.join()
            engine.dispose()
            client.delete(stream, f"{stream}:dead-letter")
    if len(rows) != total or not ended:
        raise RuntimeError(f"only {len(rows)} of {total} events were handled in {DEADLINE:.0f} s")
    return _sample("tactical", started, ended[0], latencies, rows)


def run_once(*, quick: bool, floor_first: bool) -> list[Sample]:
    """Both variants in this process, on the same events; the floor first if asked."""
    import redis

    from benchmarks._databases import REDIS_URL
    from tactical import MessageRegistry
    from tactical.redis._wire import encode_fields

    sizes = QUICK if quick else FULL
    events = allocated_events(sizes["n"], sizes["products"])
    registry = MessageRegistry([type(events[0])])
    fields = [encode_fields(registry.envelope(event).to_fields()) for event in events]
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=10)
    try:
        samples = []
        for variant in VARIANTS if floor_first else tuple(reversed(VARIANTS)):
            if variant == "floor":
                samples.append(run_floor(client, fields))  # type: ignore[arg-type]
            else:
                samples.append(run_tactical(client, events))
    finally:
        client.close()
    return samples


class RedisWorkload:
    """W5: outbox to Redis Streams to a consumer, against raw redis-py."""

    name = "W5"
    title = "events across Redis (PostgreSQL outbox, Redis Streams)"

    def run(
        self,
        *,
        rounds: int | None,
        quick: bool,
        progress: Callable[[str], None],
        machine: Machine,
        command: str,
    ) -> RedisResult:
        """One fresh process per round; each runs the floor and tactical, alternating first."""
        count = rounds or (QUICK_ROUNDS if quick else ROUNDS)
        samples: list[Sample] = []
        failures: list[str] = []
        for index in range(count):
            outcome = _run_child(quick=quick, floor_first=index % 2 == 0)
            if isinstance(outcome, str):
                failures.append(outcome)
                progress(f"W5 round {index + 1}/{count}: FAILED: {outcome}")
                continue
            for sample in outcome:
                sample["round"] = index
                samples.append(sample)
                progress(
                    f"W5 round {index + 1}/{count} {sample['variant']}: "
                    f"{sample['events_per_second']:,.0f} events/s, latency median "
                    f"{sample['latency_median_ms']:.1f} ms, p99 {sample['latency_p99_ms']:.1f} ms "
                    f"({sample['checksum']})"
                )
        floor_checksums = [s["checksum"] for s in samples if s["variant"] == "floor"]
        expected = statistics.mode(floor_checksums) if floor_checksums else None
        return RedisResult(
            kind="redis",
            workload=self.name,
            title=self.title,
            rounds=count,
            quick=quick,
            command=command,
            machine=machine,
            events=(QUICK if quick else FULL)["n"],
            expected_checksum=expected,
            rows=[_row(variant, samples, failures, expected) for variant in VARIANTS],
            samples=samples,
        )

    def table(self, result: RedisResult) -> str:
        """Events per second, the ratio to the floor, and latencies."""
        header = f"W5 - {result['title']}"
        if result["quick"]:
            header += " (quick: smoke-test sizes, figures mean little)"
        lines = [
            header,
            (
                f"  {result['events']:,} Allocated events; {result['rounds']} rounds, medians; "
                f"checksum {result['expected_checksum']}"
            ),
            (
                f"  {'variant':<12}{'events/s':>10}{'x floor':>9}{'median ms':>11}{'p99 ms':>9}"
                "   status"
            ),
        ]
        lines.extend(
            f"  {row['variant']:<12}{_number(row['events_per_second'], 0):>10}"
            f"{_number(row['ratio_to_floor'], 2):>9}{_number(row['latency_median_ms'], 1):>11}"
            f"{_number(row['latency_p99_ms'], 1):>9}   {row['status']}"
            for row in result["rows"]
        )
        return "\n".join(lines)


def _number(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _row(variant: str, samples: list[Sample], failures: list[str], expected: str | None) -> Row:
    mine = [s for s in samples if s["variant"] == variant]
    wrong = sorted({s["checksum"] for s in mine if s["checksum"] != expected})
    floors = {s["round"]: s["events_per_second"] for s in samples if s["variant"] == "floor"}
    ratios = [s["events_per_second"] / floors[s["round"]] for s in mine if s["round"] in floors]
    if not mine:
        status = f"failed: {failures[0]}" if failures else "not run"
    elif wrong:
        status = f"invalid: checksum {', '.join(wrong)} (expected {expected})"
    else:
        status = "ok" if not failures else f"failed in a round: {failures[0]}"

    def median(key: Literal["events_per_second", "latency_median_ms", "latency_p99_ms"]) -> float:
        return statistics.median(s[key] for s in mine)

    return Row(
        variant=variant,
        events_per_second=median("events_per_second") if mine else None,
        ratio_to_floor=statistics.median(ratios) if ratios and not wrong else None,
        latency_median_ms=median("latency_median_ms") if mine else None,
        latency_p99_ms=median("latency_p99_ms") if mine else None,
        status=status,
    )


def _run_child(*, quick: bool, floor_first: bool) -> list[Sample] | str:
    command = [sys.executable, "-m", "benchmarks.w5_redis"]
    command += ["--quick"] if quick else []
    command += ["--floor-first"] if floor_first else []
    data = run_json_child(command)
    if isinstance(data, Failure):
        return str(data)
    samples: list[Sample] = data
    return samples


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.w5_redis [--quick] [--floor-first]``: one run, as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.w5_redis")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--floor-first", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run_once(quick=args.quick, floor_first=args.floor_first)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
