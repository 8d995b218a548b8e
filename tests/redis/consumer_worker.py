"""A consumer process for the process tests: handles `Ping`s, records each effect in Redis.

Run as ``python consumer_worker.py URL STREAM GROUP NAME [--batch N] [--claim-idle S]
[--hold-first]``. Each handled message increments ``<stream>:effects[<message id>]``. With
``--hold-first`` the first message's handler announces itself on ``<stream>:started`` and
then waits for an item on ``<stream>:go``, so that the test controls exactly when the
message in hand finishes (or kills the process while it is in hand). The worker stops
gracefully on SIGTERM and pushes its name to ``<stream>:exited`` once `run` returned.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass

import redis

from tactical import Backoff, Consumer, Envelope, Event, Message, MessageRegistry
from tactical.redis import RedisBroker


@dataclass(frozen=True)
class Ping(Event):
    n: int


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("url", "stream", "group", "name"):
        parser.add_argument(name)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--claim-idle", type=float, default=60.0)
    parser.add_argument("--hold-first", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    stream: str = args.stream
    registry = MessageRegistry([Ping])
    waiting = redis.Redis.from_url(args.url, socket_timeout=None)  # BLPOP without a time limit
    held = not args.hold_first

    with RedisBroker.from_url(args.url) as broker:
        client = broker.client

        def handle(message: Message, envelope: Envelope) -> None:
            nonlocal held
            if not held:
                held = True
                client.rpush(f"{stream}:started", envelope.message_id)
                waiting.blpop([f"{stream}:go"], timeout=0)
            client.hincrby(f"{stream}:effects", envelope.message_id, 1)

        consumer = Consumer(
            broker.subscribe(stream, args.group, args.name),
            handle,
            registry.message,
            batch=args.batch,
            claim_idle=args.claim_idle,
            claim_every=0.1,
            block=0.1,
            backoff=Backoff(initial=0.01, cap=0.1),
        )
        with consumer.stop_on_signals():
            client.rpush(f"{stream}:ready", args.name)
            consumer.run()
        client.rpush(f"{stream}:exited", args.name)
    waiting.close()


if __name__ == "__main__":
    main()
