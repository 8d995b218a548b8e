"""W2, persist: one database transaction per command, on SQLite (a file) and PostgreSQL.

- ``limit``: hand-written SQLAlchemy (`benchmarks._book`): the book's model and mapping, one
  `Session` per command, the version counter in the ``UPDATE``.
- ``floor``: the raw driver (``sqlite3``, ``psycopg``) sending the statements the limit sends:
  one ``SELECT`` of the product with its batches and their lines, ``INSERT`` the order line,
  ``INSERT`` the allocation, ``UPDATE products SET version = v + 1 WHERE sku = ? AND version
  = v`` (one row, or the command fails), ``COMMIT``.
- ``tactical``: a bus from `tactical.bootstrap` with the example app's ``allocate`` handler,
  its mapping (`allocation.adapters.orm.start_mappers`, which maps the root with
  `tactical.sqlalchemy.map_aggregate`) and its `SqlUnitOfWork` (a `SqlAlchemyUnitOfWork`):
  what a user of tactical writes.

Each run makes a fresh database with the book's tables, inserts the products of the data set
and 10 warm-up products, runs 50 warm-up commands on those (untimed), then times the n
commands. The read model is the W1 one, in memory, updated by the ``Allocated`` handler after
the command's transaction committed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import TYPE_CHECKING, Any

from allocation.domain import commands, events
from benchmarks import _book
from benchmarks._databases import SQLITE, fresh_database
from benchmarks._dataset import (
    AllocationsView,
    Measurement,
    add_allocation_to_read_model,
    batch_specs,
    checksum,
    command_args,
    skus,
    timed,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from benchmarks._databases import Database

WARMUP_PRODUCTS = 10
WARMUP_COMMANDS = 50

timer: Callable[[Callable[[], object]], float] = timed
"""How `run_loop` times the loop (`benchmarks.w2_profile` instruments it)."""


def product_specs(params: Mapping[str, int]) -> list[tuple[str, list[_book.BatchSpec]]]:
    """The data set's products and the warm-up products, each with its three batches."""
    today = dt.datetime.now(dt.UTC).date()
    names = skus(params["products"]) + warmup_skus()
    return [(sku, batch_specs(sku, 3, today)) for sku in names]


def warmup_skus() -> list[str]:
    """The products that only the warm-up commands touch."""
    return [f"WARM-{k:04d}" for k in range(WARMUP_PRODUCTS)]


def warmup_args() -> list[tuple[str, str, int]]:
    """The warm-up commands: like the data set's, on the warm-up products."""
    names = warmup_skus()
    return [
        (f"warm-{i:07d}", names[i % WARMUP_PRODUCTS], 1 + i % 5) for i in range(WARMUP_COMMANDS)
    ]


def run_loop(
    params: Mapping[str, int],
    handle: Callable[[commands.Allocate], object],
    view: AllocationsView,
) -> Measurement:
    """Warm up (untimed, rows discarded), then time the n commands; the read model's checksum."""
    allocate_command = commands.Allocate
    for orderid, sku, qty in warmup_args():
        handle(allocate_command(orderid, sku, qty))
    view.rows.clear()
    args = command_args(params["n"], params["products"])

    def loop() -> None:
        for orderid, sku, qty in args:
            handle(allocate_command(orderid, sku, qty))

    seconds = timer(loop)
    return Measurement(seconds, len(args), checksum(view.rows))


@contextlib.contextmanager
def prepared_database(params: Mapping[str, int]) -> Iterator[Database]:
    """A fresh database with the book's tables and the products, for one run."""
    with fresh_database(params["backend"]) as database:
        engine = _book.limit_engine(database.url, database.backend)
        try:
            _book.create_tables(engine)
            _book.insert_products(engine, product_specs(params))
        finally:
            engine.dispose()
        yield database


def limit(params: Mapping[str, int]) -> Measurement:
    """Hand-written SQLAlchemy: a session per command, the book's mapping."""
    _book.start_mappers()
    with prepared_database(params) as database:
        engine = _book.limit_engine(database.url, database.backend)
        allocate = _book.hand_written_allocate(_book.limit_sessions(engine), database.backend)
        view = AllocationsView()
        allocated = events.Allocated

        def handle(command: commands.Allocate) -> str | None:
            batchref, recorded = allocate(command.orderid, command.sku, command.qty)
            for event in recorded:  # after the commit, as the bus does
                if type(event) is allocated:
                    add_allocation_to_read_model(event, view)
            return batchref

        try:
            return run_loop(params, handle, view)
        finally:
            engine.dispose()


def tactical(params: Mapping[str, int]) -> Measurement:
    """A tactical bus over the example app's `SqlUnitOfWork` and mapping."""
    from allocation.adapters import orm
    from allocation.adapters.unit_of_work import SqlUnitOfWork
    from allocation.service_layer import handlers
    from tactical import bootstrap
    from tactical.sqlalchemy import create_engine, create_session_factory

    check_same_tables()
    orm.start_mappers()
    with prepared_database(params) as database:
        engine = create_engine(database.url)
        sessions = create_session_factory(engine)
        view = AllocationsView()
        bus = bootstrap(
            uow=lambda: SqlUnitOfWork(sessions),
            handlers={
                commands.Allocate: handlers.allocate,
                events.Allocated: [add_allocation_to_read_model],
            },
            dependencies={"view": view},
        )
        try:
            return run_loop(params, bus.handle, view)
        finally:
            engine.dispose()


def check_same_tables() -> None:
    """The app's tables are the book's tables here, column for column (else W2 compares apples
    with pears)."""
    from allocation.adapters import orm

    for table in _book.metadata.sorted_tables:
        theirs = orm.metadata.tables[table.name]
        mine = [(c.name, str(c.type), c.primary_key, c.nullable) for c in table.columns]
        other = [(c.name, str(c.type), c.primary_key, c.nullable) for c in theirs.columns]
        if mine != other:
            raise AssertionError(f"the app's table {table.name} differs: {other} != {mine}")


# The floor: the same statements, through the driver.

SELECT_PRODUCT = (
    "SELECT p.version, b.id, b.reference, b._purchased_quantity, b.eta, ol.qty "
    "FROM products AS p "
    "LEFT OUTER JOIN batches AS b ON p.sku = b.sku "
    "LEFT OUTER JOIN allocations AS a ON b.id = a.batch_id "
    "LEFT OUTER JOIN order_lines AS ol ON ol.id = a.orderline_id "
    "WHERE p.sku = {p} ORDER BY b.id"
)
INSERT_LINE = "INSERT INTO order_lines (sku, qty, orderid) VALUES ({p}, {p}, {p})"
INSERT_ALLOCATION = "INSERT INTO allocations (orderline_id, batch_id) VALUES ({p}, {p})"
UPDATE_VERSION = (
    "UPDATE products SET version = {p} WHERE products.sku = {p} AND products.version = {p}"
)
STATEMENTS = (SELECT_PRODUCT, INSERT_LINE, INSERT_ALLOCATION, UPDATE_VERSION)


class ConflictError(RuntimeError):
    """The version check matched no row (cannot happen with one writer)."""


class InvalidSkuError(LookupError):
    """No product has the command's sku."""


def choose_batch(rows: list[Any], qty: int) -> tuple[int, str] | None:
    """The book's rule over ``(version, id, reference, purchased, eta, line qty)`` rows."""
    found: dict[int, list[Any]] = {}
    for _, batch_id, reference, purchased, eta, line_qty in rows:
        batch = found.get(batch_id)
        if batch is None:
            batch = found[batch_id] = [batch_id, reference, purchased, eta]
        if line_qty is not None:
            batch[2] -= line_qty
    ordered = sorted(found.values(), key=lambda b: (b[3] is not None, b[3] or ""))
    for batch_id, reference, available, _ in ordered:
        if available >= qty:
            return batch_id, reference
    return None


def floor(params: Mapping[str, int]) -> Measurement:
    """The raw driver sending the limit's statements."""
    with prepared_database(params) as database:
        view = AllocationsView()
        if database.backend == SQLITE:
            handle, close = _sqlite_floor(database, view)
        else:
            handle, close = _postgres_floor(database, view)
        try:
            return run_loop(params, handle, view)
        finally:
            close()


def _sqlite_floor(
    database: Database, view: AllocationsView
) -> tuple[Callable[[commands.Allocate], object], Callable[[], None]]:
    import sqlite3

    connection = sqlite3.connect(str(database.path), isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    select, insert_line, insert_allocation, update = (sql.format(p="?") for sql in STATEMENTS)
    execute = connection.execute

    def write(command: commands.Allocate, batch_id: int, version: int) -> None:
        line_id = execute(insert_line, (command.sku, command.qty, command.orderid)).lastrowid
        execute(insert_allocation, (line_id, batch_id))
        if execute(update, (version + 1, command.sku, version)).rowcount != 1:
            raise ConflictError(command.sku)

    def handle(command: commands.Allocate) -> str | None:
        rows = execute(select, (command.sku,)).fetchall()
        if not rows:
            raise InvalidSkuError(command.sku)
        chosen = choose_batch(rows, command.qty)
        if chosen is None:
            return None
        execute("BEGIN")
        try:
            write(command, chosen[0], rows[0][0])
            execute("COMMIT")
        except BaseException:
            execute("ROLLBACK")
            raise
        add_allocation_to_read_model(
            events.Allocated(command.orderid, command.sku, command.qty, chosen[1]), view
        )
        return chosen[1]

    return handle, connection.close


def _postgres_floor(
    database: Database, view: AllocationsView
) -> tuple[Callable[[commands.Allocate], object], Callable[[], None]]:
    import psycopg

    connection = psycopg.connect(database.dsn)
    select, insert_line, insert_allocation, update = (sql.format(p="%s") for sql in STATEMENTS)
    insert_line += " RETURNING order_lines.id"
    cursor = connection.cursor()
    execute = cursor.execute

    def write(command: commands.Allocate, batch_id: int, version: int) -> None:
        line = execute(insert_line, (command.sku, command.qty, command.orderid)).fetchone()
        assert line is not None
        execute(insert_allocation, (line[0], batch_id))
        if execute(update, (version + 1, command.sku, version)).rowcount != 1:
            raise ConflictError(command.sku)

    def read(command: commands.Allocate) -> list[Any]:
        rows = execute(select, (command.sku,)).fetchall()
        if not rows:
            raise InvalidSkuError(command.sku)
        return rows

    def handle(command: commands.Allocate) -> str | None:
        try:
            rows = read(command)
            chosen = choose_batch(rows, command.qty)
            if chosen is None:
                connection.rollback()
                return None
            write(command, chosen[0], rows[0][0])
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        add_allocation_to_read_model(
            events.Allocated(command.orderid, command.sku, command.qty, chosen[1]), view
        )
        return chosen[1]

    def close() -> None:
        cursor.close()
        connection.close()

    return handle, close
