"""One worker process of the allocation contention test: Allocate commands through a real bus.

Run by ``test_processes.py``, never collected: ``python allocation_worker.py URL NAME COUNT SKU
MODE``. It maps the allocation model, bootstraps the service's bus on the app's
`SqlUnitOfWork` (a `SqlAlchemyUnitOfWork`; MODE ``lock`` makes it ``get(for_update=True)``),
prints ``ready``, waits for a line on standard input (the start signal, the same for every
worker), sends ``COUNT`` commands to allocate one unit of ``SKU``, and prints one JSON line:
what each command returned or raised, and how many attempts each took (the bus re-runs a
command that conflicted).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from typing import TYPE_CHECKING, Any

from allocation import bootstrap
from allocation.adapters import orm
from allocation.adapters.unit_of_work import SqlUnitOfWork
from allocation.domain import commands
from tactical import ConcurrencyError, Message
from tactical.sqlalchemy import create_engine, create_session_factory

if TYPE_CHECKING:
    from collections.abc import Callable


class Silent:
    """Notifications that go nowhere: standard output carries the results."""

    def send(self, destination: str, message: str, /) -> None:
        pass


class Attempts:
    """Middleware that counts the calls of each command's handler (1 + retries)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, message: Message, handler: str, proceed: Callable[[], Any], /) -> Any:
        if isinstance(message, commands.Allocate):
            self.count += 1
        return proceed()


def main(url: str, name: str, count: int, sku: str, lock: bool) -> dict[str, Any]:
    warnings.simplefilter("error")
    orm.start_mappers()
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    attempts = Attempts()
    bus = bootstrap.bootstrap(
        uow=lambda: SqlUnitOfWork(sessions, lock=lock),
        notifications=Silent(),
        middleware=[attempts],
    )
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    outcome: dict[str, Any] = {
        "allocated": [],
        "out_of_stock": 0,
        "conflicts": 0,
        "errors": [],
        "attempts": [],
        "allocating_attempts": [],
    }
    started = time.perf_counter()
    for number in range(count):
        attempts.count = 0
        orderid = f"{name}-{number}"
        try:
            batchref = bus.handle(commands.Allocate(orderid, sku, 1))
        except ConcurrencyError:
            outcome["conflicts"] += 1
        except Exception as error:
            outcome["errors"].append(f"{type(error).__name__}: {error}")
        else:
            if batchref is None:
                outcome["out_of_stock"] += 1
            else:
                outcome["allocated"].append(orderid)
                outcome["allocating_attempts"].append(attempts.count)
        outcome["attempts"].append(attempts.count)
    outcome["elapsed"] = time.perf_counter() - started
    engine.dispose()
    return outcome


if __name__ == "__main__":
    url, name, count, sku, mode = sys.argv[1:]
    result = main(url, name, int(count), sku, lock=mode == "lock")
    sys.stdout.write(json.dumps(result) + "\n")
