"""``allocation relay``: publish the outbox to Redis, from the database the service writes.

The service writes each `Allocated` event to the outbox table in the transaction that
allocated (and dead letters too); the relay publishes what committed, in order, and marks it,
with tactical's `OutboxRelay`. Several relays may run at once: they take different rows.
"""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Final

from allocation.adapters import messaging
from allocation.adapters.schema import open_database
from tactical.redis import RedisBroker
from tactical.sqlalchemy import OutboxRelay

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    from allocation.config import Config

__all__ = ["relay"]

_CHECK_EVERY: Final = 0.2
"""Seconds between looks at whether a signal asked to stop."""


# --8<-- [start:relay]
def relay(config: Config, *, redis_url: str) -> None:
    """Relay the outbox until SIGTERM or SIGINT; the schema must exist.

    Args:
        config: Where the database is.
        redis_url: The Redis server.
    """
    engine = open_database(config.database_url)
    broker = RedisBroker.from_url(redis_url, socket_connect_timeout=5, socket_timeout=30)
    relaying = OutboxRelay(engine, messaging.outbox, broker, poll_interval=0.2)
    try:
        run_until_signalled(relaying.run, relaying.stop)
    finally:
        broker.close()
        engine.dispose()
    # --8<-- [end:relay]


def run_until_signalled(run: Callable[[], None], stop: Callable[[], None]) -> None:
    """Call ``run`` in a thread; on SIGTERM or SIGINT call ``stop``; return when ``run`` does.

    The signal handler only sets a flag (a handler must take no lock), which this thread
    looks at while it waits.

    Raises:
        Exception: What ``run`` raised.
    """
    requested: list[int] = []
    failed: list[BaseException] = []

    def on_signal(number: int, frame: FrameType | None) -> None:  # noqa: ARG001 - the signal's shape
        requested.append(number)

    def target() -> None:
        try:
            run()
        except BaseException as error:  # noqa: BLE001 - raised again in the calling thread
            failed.append(error)

    previous = {number: signal.signal(number, on_signal) for number in _STOP_SIGNALS}
    worker = threading.Thread(target=target, name="allocation-relay")
    try:
        worker.start()
        stopping = False
        while worker.is_alive():
            worker.join(_CHECK_EVERY)
            if requested and not stopping:
                stopping = True
                stop()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if failed:
        raise failed[0]


_STOP_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)
