"""W3, contention: many threads allocate from one hot product on PostgreSQL, all at once.

One product ``HOT-SKU`` has batches of 100 (no eta), 300 (eta + 1 day) and 400 (eta + 2
days): 800 in stock. 1,000 requests of one unit are split evenly over T threads (T = 1 and
T = 8), released together by a `threading.Barrier`; each request is a full command. The
figure is successful allocations per second, from the barrier's release to the last thread
done, with the retries it took. Variants:

- ``handwritten``: hand-written SQLAlchemy (`benchmarks._book`), a session per attempt and its
  own retry loop on `StaleDataError`, waiting as tactical's bus does (exponential from 2 ms,
  capped at 200 ms, full jitter);
- ``tactical-optimistic``: one bus (`tactical.bootstrap`, the app's ``allocate`` handler and
  `SqlUnitOfWork`) shared by the threads; conflicts raise `ConcurrencyError`, and the bus
  retries the command with its default back-off;
- ``tactical-pessimistic``: the same with ``SqlUnitOfWork(lock=True)``: ``get`` takes the
  product's row lock (``SELECT ... FOR UPDATE``), so the threads queue instead of conflicting.

Checks, from the database afterwards: allocated ≤ stock, each batch's allocated ≤ purchased,
successes = min(stock, demand), the database holds exactly the successful allocations, and
no request failed (with a conflict or anything else).

Each (variant, T) runs in a fresh process on a fresh database, in rotating order, for a few
rounds; the table shows medians.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from benchmarks._harness import Failure, Machine, run_json_child

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine

SKU = "HOT-SKU"
VARIANTS = ("handwritten", "tactical-optimistic", "tactical-pessimistic")
THREADS = (1, 8)
ROUNDS = 3
QUICK_ROUNDS = 1
FULL = {"requests": 1_000, "scale": 100}
QUICK = {"requests": 100, "scale": 10}
"""Batches are 1, 3 and 4 times ``scale``: 800 in stock at full size, 80 when quick."""


class Run(TypedDict):
    """One run of one variant with T threads, in a fresh process."""

    variant: str
    threads: int
    round: int
    seconds: float
    requests: int
    stock: int
    successes: int
    out_of_stock: int
    conflicts: int
    errors: list[str]
    attempts: int
    retries: int
    allocations_per_second: float
    retries_per_success: float
    stored: int
    oversold_batches: list[str]
    checks: list[str]


class Row(TypedDict):
    """A (variant, T) over the rounds: medians, and whether every run passed its checks."""

    variant: str
    threads: int
    allocations_per_second: float | None
    seconds: float | None
    retries: float | None
    retries_per_success: float | None
    successes: list[int]
    failures: list[str]
    valid: bool


class ContentionResult(TypedDict):
    """What W3 reports."""

    kind: Literal["contention"]
    workload: str
    title: str
    rounds: int
    quick: bool
    command: str
    machine: Machine
    requests: int
    stock: int
    rows: list[Row]
    runs: list[Run]


def batch_specs(scale: int) -> list[tuple[str, int, dt.date | None]]:
    """The hot product's batches: in the warehouse, then one and two days away."""
    today = dt.datetime.now(dt.UTC).date()
    return [
        ("HOT-b0", scale, None),
        ("HOT-b1", 3 * scale, today + dt.timedelta(days=1)),
        ("HOT-b2", 4 * scale, today + dt.timedelta(days=2)),
    ]


class Attempts:
    """Counts handler calls (first attempts and retries), from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self) -> None:
        with self._lock:
            self.count += 1

    def __call__(self, message: object, handler: str, proceed: Callable[[], Any], /) -> Any:
        """As tactical middleware: count, then call the handler."""
        self.add()
        return proceed()


def _tactical(database_url: str, *, lock: bool, attempts: Attempts) -> tuple[Any, Engine]:
    from allocation.adapters import orm
    from allocation.adapters.unit_of_work import SqlUnitOfWork
    from allocation.domain import commands
    from allocation.service_layer import handlers
    from tactical import bootstrap
    from tactical.sqlalchemy import create_engine, create_session_factory

    orm.start_mappers()
    engine = create_engine(database_url, pool_size=10)
    sessions = create_session_factory(engine)
    bus = bootstrap(
        uow=lambda: SqlUnitOfWork(sessions, lock=lock),
        handlers={commands.Allocate: handlers.allocate},
        middleware=[attempts],
    )
    allocate_command = commands.Allocate
    handle = bus.handle

    def allocate(orderid: str) -> str | None:
        batchref: str | None = handle(allocate_command(orderid, SKU, 1))
        return batchref

    return allocate, engine


def _handwritten(database_url: str, *, attempts: Attempts) -> tuple[Any, Engine]:
    from sqlalchemy.orm.exc import StaleDataError

    from allocation.domain import commands
    from benchmarks import _book
    from benchmarks._databases import POSTGRESQL

    _book.start_mappers()
    engine = _book.limit_engine(database_url, POSTGRESQL, pool_size=10)
    sessions = _book.limit_sessions(engine)
    query = _book.product_query(POSTGRESQL)
    allocate_command = commands.Allocate

    def allocate(orderid: str) -> str | None:
        command = allocate_command(orderid, SKU, 1)
        retry = 0
        while True:
            attempts.add()
            try:
                with sessions() as session:
                    product: _book.Product | None = (
                        session.scalars(query, {"sku": command.sku}).unique().first()
                    )
                    if product is None:
                        raise LookupError(command.sku)
                    line = _book.OrderLine(command.orderid, command.sku, command.qty)
                    batchref = product.allocate(line)
                    session.commit()
            except StaleDataError:
                # As tactical's bus waits: exponential from 2 ms, capped at 200 ms, full jitter.
                time.sleep(min(0.2, 0.002 * 2.0**retry) * random.random())
                retry += 1
                continue
            return batchref

    return allocate, engine


def run_once(variant: str, threads: int, *, quick: bool) -> Run:
    """One run in this process: fresh database, T threads released together, then the checks."""
    from allocation.domain import commands  # noqa: F401 - imported before the clock starts
    from benchmarks import _book
    from benchmarks._databases import POSTGRESQL, fresh_database
    from tactical import ConcurrencyError

    sizes = QUICK if quick else FULL
    specs = batch_specs(sizes["scale"])
    stock = sum(qty for _, qty, _ in specs)
    requests = sizes["requests"]
    with fresh_database(POSTGRESQL) as database:
        setup = _book.limit_engine(database.url, POSTGRESQL)
        _book.create_tables(setup)
        _book.insert_products(setup, [(SKU, specs)])
        attempts = Attempts()
        if variant == "handwritten":
            allocate, engine = _handwritten(database.url, attempts=attempts)
        elif variant in {"tactical-optimistic", "tactical-pessimistic"}:
            allocate, engine = _tactical(
                database.url, lock=variant == "tactical-pessimistic", attempts=attempts
            )
        else:
            raise ValueError(f"W3 has no variant {variant!r}")
        outcomes: Counter[str] = Counter()
        errors: list[str] = []
        guard = threading.Lock()
        started: list[float] = []
        finished: list[float] = []

        def work(index: int) -> None:
            mine: Counter[str] = Counter()
            problems: list[str] = []
            barrier.wait()
            for number in range(index, requests, threads):
                try:
                    batchref = allocate(f"hot-{number:05d}")
                except ConcurrencyError:
                    mine["conflicts"] += 1
                except Exception as error:
                    problems.append(f"{type(error).__name__}: {error}")
                else:
                    mine["successes" if batchref is not None else "out_of_stock"] += 1
            done = time.perf_counter()
            with guard:
                outcomes.update(mine)
                errors.extend(problems)
                finished.append(done)

        barrier = threading.Barrier(threads, action=lambda: started.append(time.perf_counter()))
        workers = [threading.Thread(target=work, args=(index,)) for index in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seconds = max(finished) - started[0]
        engine.dispose()
        stored = _book.stored_allocations(setup)
        setup.dispose()
    return _checked(
        variant=variant,
        threads=threads,
        seconds=seconds,
        requests=requests,
        stock=stock,
        outcomes=outcomes,
        errors=errors,
        attempts=attempts,
        stored=stored,
    )


def _checked(
    *,
    variant: str,
    threads: int,
    seconds: float,
    requests: int,
    stock: int,
    outcomes: Counter[str],
    errors: list[str],
    attempts: Attempts,
    stored: list[tuple[str, str, str, int, int]],
) -> Run:
    per_batch: Counter[str] = Counter()
    purchased: dict[str, int] = {}
    for _, _, batchref, qty, batch_qty in stored:
        per_batch[batchref] += qty
        purchased[batchref] = batch_qty
    oversold = sorted(ref for ref, qty in per_batch.items() if qty > purchased[ref])
    successes = outcomes["successes"]
    expected = min(stock, requests)
    checks = []
    if sum(per_batch.values()) > stock:
        checks.append(f"allocated {sum(per_batch.values())} > stock {stock}")
    if oversold:
        checks.append(f"batches allocated beyond their quantity: {', '.join(oversold)}")
    if successes != expected:
        checks.append(f"successes {successes} != min(stock, demand) {expected}")
    if len(stored) != successes:
        checks.append(f"the database holds {len(stored)} allocations, not {successes}")
    if outcomes["conflicts"]:
        checks.append(f"{outcomes['conflicts']} requests failed with a conflict")
    if errors:
        checks.append(f"{len(errors)} requests failed: {errors[0]}")
    commands = requests - len(errors)
    return Run(
        variant=variant,
        threads=threads,
        round=0,
        seconds=seconds,
        requests=requests,
        stock=stock,
        successes=successes,
        out_of_stock=outcomes["out_of_stock"],
        conflicts=outcomes["conflicts"],
        errors=errors[:5],
        attempts=attempts.count,
        retries=attempts.count - commands,
        allocations_per_second=successes / seconds,
        retries_per_success=(attempts.count - commands) / successes if successes else 0.0,
        stored=len(stored),
        oversold_batches=oversold,
        checks=checks,
    )


class ContentionWorkload:
    """W3: throughput and retries of allocations from one hot product."""

    name = "W3"
    title = "contention (PostgreSQL)"

    def run(
        self,
        *,
        rounds: int | None,
        quick: bool,
        progress: Callable[[str], None],
        machine: Machine,
        command: str,
    ) -> ContentionResult:
        """Each (variant, T) once per round, in a fresh process, rotating the order."""
        count = rounds or (QUICK_ROUNDS if quick else ROUNDS)
        cases = [(variant, threads) for threads in THREADS for variant in VARIANTS]
        runs: list[Run] = []
        failures: dict[tuple[str, int], list[str]] = {case: [] for case in cases}
        for index in range(count):
            offset = index % len(cases)
            for variant, threads in cases[offset:] + cases[:offset]:
                outcome = _run_child(variant, threads, quick=quick)
                label = f"W3 round {index + 1}/{count} {variant} T={threads}"
                if isinstance(outcome, str):
                    failures[variant, threads].append(outcome)
                    progress(f"{label}: FAILED: {outcome}")
                    continue
                outcome["round"] = index
                runs.append(outcome)
                verdict = "ok" if not outcome["checks"] else "; ".join(outcome["checks"])
                progress(
                    f"{label}: {outcome['allocations_per_second']:.0f} allocations/s, "
                    f"{outcome['retries']} retries ({verdict})"
                )
        sizes = QUICK if quick else FULL
        return ContentionResult(
            kind="contention",
            workload=self.name,
            title=self.title,
            rounds=count,
            quick=quick,
            command=command,
            machine=machine,
            requests=sizes["requests"],
            stock=8 * sizes["scale"],
            rows=[_row(case, runs, failures[case]) for case in cases],
            runs=runs,
        )

    def table(self, result: ContentionResult) -> str:
        """Allocations per second and retries, a row per (T, variant)."""
        header = f"W3 - {result['title']}"
        if result["quick"]:
            header += " (quick: smoke-test sizes, figures mean little)"
        lines = [
            header,
            (
                f"  {result['requests']:,} requests of 1 for {result['stock']:,} in stock; "
                f"{result['rounds']} rounds, medians"
            ),
            (
                f"  {'T':>3}  {'variant':<22}{'allocations/s':>14}{'seconds':>9}{'retries':>9}"
                f"{'retries/success':>17}   checks"
            ),
        ]
        for row in result["rows"]:
            status = "ok" if row["valid"] else "FAILED: " + "; ".join(row["failures"][:2])
            lines.append(
                f"  {row['threads']:>3}  {row['variant']:<22}"
                f"{_number(row['allocations_per_second'], 0):>14}{_number(row['seconds'], 2):>9}"
                f"{_number(row['retries'], 0):>9}{_number(row['retries_per_success'], 3):>17}"
                f"   {status}"
            )
        return "\n".join(lines)


def _number(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _row(case: tuple[str, int], runs: list[Run], failures: list[str]) -> Row:
    variant, threads = case
    mine = [r for r in runs if r["variant"] == variant and r["threads"] == threads]
    problems = failures + [check for r in mine for check in r["checks"]]

    def median(key: Literal["allocations_per_second", "seconds", "retries_per_success"]) -> float:
        return statistics.median(r[key] for r in mine)

    return Row(
        variant=variant,
        threads=threads,
        allocations_per_second=median("allocations_per_second") if mine else None,
        seconds=median("seconds") if mine else None,
        retries=statistics.median(r["retries"] for r in mine) if mine else None,
        retries_per_success=median("retries_per_success") if mine else None,
        successes=[r["successes"] for r in mine],
        failures=problems,
        valid=bool(mine) and not problems,
    )


def _run_child(variant: str, threads: int, *, quick: bool) -> Run | str:
    command = [sys.executable, "-m", "benchmarks.w3_contention", variant, str(threads)]
    if quick:
        command.append("--quick")
    data = run_json_child(command)
    if isinstance(data, Failure):
        return str(data)
    run: Run = data
    return run


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.w3_contention VARIANT THREADS [--quick]``: one run, as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.w3_contention")
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("threads", type=int)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run_once(args.variant, args.threads, quick=args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
