"""Real contention: worker processes allocate from one product through the bus, all at once.

One product has one batch of 100 units. Worker processes (``allocation_worker.py``) each
map the model, bootstrap the allocation service on `SqlAlchemyUnitOfWork`, and wait at a
start line; then all of them send their ``Allocate`` commands (one unit each) at once. Every
command must complete, allocated or out of stock: exactly 100 allocated, none oversold, no
allocation lost, and no conflict (or "database is locked") reaching a caller. The bus's
retries absorb the conflicts; the figures (retries per command, throughput) are written out.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, insert, select

from allocation.adapters import orm
from tactical.sqlalchemy import create_engine, create_schema

if TYPE_CHECKING:
    from sqlalchemy import Engine

WORKER = Path(__file__).with_name("allocation_worker.py")
STOCK = 100
SKU = "CONTESTED-LAMP"
TIMEOUT = 120  # seconds; reached only if something hangs


@dataclass
class Outcome:
    """What all the workers saw, and what the database holds afterwards."""

    allocated: list[str]
    out_of_stock: int
    conflicts: int
    errors: list[str]
    attempts: list[int]
    allocating_attempts: list[int]
    seconds: float
    stored_lines: set[str]
    stored_units: int

    def figures(self, label: str) -> str:
        """Throughput, and the retries per command: of all, and of those that allocated."""
        return (
            f"{label}: {len(self.attempts)} commands in {self.seconds:.2f} s "
            f"({len(self.attempts) / self.seconds:.0f}/s); retries per command: "
            f"{_retries(self.attempts)}; per allocating command: "
            f"{_retries(self.allocating_attempts)}\n"
        )


def _retries(attempts: list[int]) -> str:
    retries = sorted(attempt - 1 for attempt in attempts)
    p95 = retries[max(0, int(len(retries) * 0.95) - 1)]
    return f"mean {statistics.mean(retries):.2f}, p95 {p95}, max {retries[-1]}"


def fresh_tables(engine: Engine) -> None:
    """The allocation tables, empty, and one product with one batch of STOCK units."""
    orm.metadata.drop_all(engine)
    create_schema(engine, orm.metadata)
    with engine.begin() as connection:
        connection.execute(insert(orm.products).values(sku=SKU, version=1))
        connection.execute(
            insert(orm.batches).values(
                reference="batch-1", sku=SKU, _purchased_quantity=STOCK, eta=None
            )
        )


def stored(engine: Engine) -> tuple[set[str], int]:
    """The order ids allocated in the database, and the units they take."""
    query = (
        select(orm.order_lines.c.orderid, orm.order_lines.c.qty)
        .join(orm.allocations, orm.allocations.c.orderline_id == orm.order_lines.c.id)
        .join(orm.batches, orm.batches.c.id == orm.allocations.c.batch_id)
        .where(orm.batches.c.sku == SKU)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
        lines = connection.execute(select(func.count()).select_from(orm.order_lines)).scalar()
    assert lines == len(rows), "an order line row that no allocation points at"
    return {row.orderid for row in rows}, sum(row.qty for row in rows)


def contend(url: str, engine: Engine, *, workers: int, each: int, lock: bool) -> Outcome:
    """Start the workers, release them at once, and gather what they report."""
    fresh_tables(engine)
    mode = "lock" if lock else "optimistic"
    processes = [
        subprocess.Popen(
            [sys.executable, str(WORKER), url, f"w{index}", str(each), SKU, mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(workers)
    ]
    reports: list[dict[str, Any]] = []
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline() == "ready\n", process.communicate()[1]
        started = time.perf_counter()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in processes:
            out, err = process.communicate(timeout=TIMEOUT)
            assert process.returncode == 0, err
            reports.append(json.loads(out))
        seconds = time.perf_counter() - started
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    lines, units = stored(engine)
    return Outcome(
        allocated=[orderid for report in reports for orderid in report["allocated"]],
        out_of_stock=sum(report["out_of_stock"] for report in reports),
        conflicts=sum(report["conflicts"] for report in reports),
        errors=[error for report in reports for error in report["errors"]],
        attempts=[attempt for report in reports for attempt in report["attempts"]],
        allocating_attempts=[n for report in reports for n in report["allocating_attempts"]],
        seconds=seconds,
        stored_lines=lines,
        stored_units=units,
    )


def check(outcome: Outcome, commands: int) -> None:
    """Every command completed; exactly the stock was allocated; the database agrees."""
    assert outcome.errors == []
    assert outcome.conflicts == 0, "a conflict reached a caller"
    assert len(outcome.attempts) == commands
    assert len(outcome.allocated) == STOCK
    assert outcome.out_of_stock == commands - STOCK
    assert outcome.stored_units == STOCK, "oversold (or units lost)"
    assert outcome.stored_lines == set(outcome.allocated), "an allocation was lost"


@pytest.fixture
def postgres_allocation(postgres_url: str) -> Any:
    engine = create_engine(postgres_url)
    yield engine
    orm.metadata.drop_all(engine)
    engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("lock", [False, True], ids=["optimistic", "for-update"])
def test_postgresql_allocates_exactly_the_stock_to_8_processes(
    postgres_url: str, postgres_allocation: Engine, lock: bool
) -> None:
    """8 processes x 125 commands on PostgreSQL: 100 allocated, 900 out of stock, 0 conflicts."""
    outcome = contend(postgres_url, postgres_allocation, workers=8, each=125, lock=lock)
    sys.stdout.write(outcome.figures(f"PostgreSQL, {'for update' if lock else 'optimistic'}"))
    check(outcome, 1000)


@pytest.mark.slow
@pytest.mark.parametrize("lock", [False, True], ids=["optimistic", "for-update"])
def test_sqlite_allocates_exactly_the_stock_to_4_processes(tmp_path: Path, lock: bool) -> None:
    """4 processes x 250 commands on a SQLite file: 100 allocated, no lock error reaching one."""
    url = f"sqlite:///{tmp_path / 'allocation.db'}"
    engine = create_engine(url)
    try:
        outcome = contend(url, engine, workers=4, each=250, lock=lock)
    finally:
        engine.dispose()
    sys.stdout.write(outcome.figures(f"SQLite, {'for update' if lock else 'optimistic'}"))
    check(outcome, 1000)
