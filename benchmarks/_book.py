"""The book's schema and model, mapped by hand with plain SQLAlchemy: the limit of W2 and W3.

This is the persistence code of *Architecture Patterns with Python* written without tactical:
the book's four tables (``products`` with its version counter, ``batches``, ``order_lines``,
``allocations``), the book's model (`OrderLine` a dataclass with ``unsafe_hash``, as the book
maps it; `Batch`; `Product`, which bumps ``version_number`` on every allocation), mapped
imperatively, and one `Session` per command. The version counter is SQLAlchemy's
``version_id_col``, so the ``UPDATE`` of the product row reads ``... WHERE sku = ? AND
version = ?`` and a concurrent change raises `StaleDataError`.

The tables are the same as the example app's (`allocation.adapters.orm`): every W2 and W3
variant that uses SQL creates them from `metadata` here, so they all run on one schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy
from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    event,
    insert,
    select,
)
from sqlalchemy.orm import joinedload, registry, relationship, sessionmaker

from allocation.domain.events import Allocated
from benchmarks._databases import SQLITE

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Iterable

    from sqlalchemy import Engine, Select
    from sqlalchemy.orm import Session

metadata = MetaData()

products = Table(
    "products",
    metadata,
    Column("sku", String(255), primary_key=True),
    Column("version", Integer, nullable=False),
)
batches = Table(
    "batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(255), unique=True),
    Column("sku", ForeignKey("products.sku")),
    Column("_purchased_quantity", Integer, nullable=False),
    Column("eta", Date, nullable=True),
)
order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sku", String(255)),
    Column("qty", Integer, nullable=False),
    Column("orderid", String(255)),
)
allocations = Table(
    "allocations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("orderline_id", ForeignKey("order_lines.id")),
    Column("batch_id", ForeignKey("batches.id")),
)
# The book creates no index on its foreign keys; neither SQLite nor PostgreSQL makes one.
# Without them, reading a product's batches and lines scans tables that grow with every
# command, and W2 would time the scans (see the README).
FOREIGN_KEY_INDEXES = (
    Index("ix_batches_sku", batches.c.sku),
    Index("ix_allocations_batch_id", allocations.c.batch_id),
    Index("ix_allocations_orderline_id", allocations.c.orderline_id),
)

BatchSpec = tuple[str, int, "dt.date | None"]
"""A batch of the data set: reference, quantity, eta."""


@dataclass(unsafe_hash=True)
class OrderLine:
    """The book's order line: a dataclass SQLAlchemy can map (so not frozen)."""

    orderid: str
    sku: str
    qty: int


class Batch:
    """The book's batch: its allocations are a set of order lines."""

    def __init__(self, ref: str, sku: str, qty: int, eta: dt.date | None) -> None:
        self.reference = ref
        self.sku = sku
        self.eta = eta
        self._purchased_quantity = qty
        self._allocations: set[OrderLine] = set()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Batch) and other.reference == self.reference

    def __hash__(self) -> int:
        return hash(self.reference)

    def __gt__(self, other: Batch) -> bool:
        if self.eta is None:
            return False
        if other.eta is None:
            return True
        return self.eta > other.eta

    def allocate(self, line: OrderLine) -> None:
        if self.can_allocate(line):
            self._allocations.add(line)

    @property
    def allocated_quantity(self) -> int:
        return sum(line.qty for line in self._allocations)

    @property
    def available_quantity(self) -> int:
        return self._purchased_quantity - self.allocated_quantity

    def can_allocate(self, line: OrderLine) -> bool:
        return self.sku == line.sku and self.available_quantity >= line.qty


class Product:
    """The book's aggregate: every allocation bumps ``version_number``."""

    def __init__(self, sku: str, batches: list[Batch], version_number: int = 0) -> None:
        self.sku = sku
        self.batches = batches
        self.version_number = version_number
        self.events: list[Allocated] = []

    def allocate(self, line: OrderLine) -> str | None:
        for batch in sorted(self.batches):
            if batch.can_allocate(line):
                batch.allocate(line)
                self.version_number += 1
                self.events.append(Allocated(line.orderid, line.sku, line.qty, batch.reference))
                return batch.reference
        return None


_mapper_registry = registry(metadata=metadata)


def start_mappers() -> None:
    """Map the book's model onto the tables, as the book's ``orm.py`` does (once a process)."""
    _mapper_registry.map_imperatively(OrderLine, order_lines)
    _mapper_registry.map_imperatively(
        Batch,
        batches,
        properties={
            "_allocations": relationship(OrderLine, secondary=allocations, collection_class=set)
        },
    )
    _mapper_registry.map_imperatively(
        Product,
        products,
        version_id_col=products.c.version,
        version_id_generator=False,
        properties={
            "version_number": products.c.version,
            "batches": relationship(Batch, order_by=batches.c.id),
        },
    )

    # SQLAlchemy does not call __init__ when it loads an object.
    @event.listens_for(Product, "load")
    def receive_load(product: Product, _: object) -> None:
        product.events = []


def load_options(backend: int) -> tuple[Any, ...]:
    """How the limit loads a product: the fastest hand-written way on each database.

    On SQLite, the book's lazy loading (a ``SELECT`` per relationship, each cheap in
    process); on PostgreSQL, joined eager loading (one round trip). Measured against the
    others (see the README): on SQLite, joined eager loading through the ``allocations``
    table is a nested join, ``LEFT OUTER JOIN (allocations JOIN order_lines)``, which SQLite
    materializes in full for every query.
    """
    if backend == SQLITE:
        return ()
    product: Any = Product
    batch: Any = Batch
    return (joinedload(product.batches).joinedload(batch._allocations),)  # noqa: SLF001 - mapped attribute


def product_query(backend: int) -> Select[Any]:
    """The limit's query for a product and its batches; build it after `start_mappers`."""
    query = select(Product).where(products.c.sku == sqlalchemy.bindparam("sku"))
    return query.options(*load_options(backend))


def configure_sqlite_by_hand(engine: Engine) -> Engine:
    """What a careful hand-written SQLite set-up does: WAL, ``synchronous=NORMAL``, foreign keys.

    The same settings as tactical's `configure_sqlite`, so that W2 compares code, not
    durability (see the README: with SQLite's defaults each commit costs several fsyncs).
    """

    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection: Any, _: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def limit_engine(url: str, backend: int, **kwargs: Any) -> Engine:
    """A plain SQLAlchemy engine, SQLite configured by hand."""
    engine = sqlalchemy.create_engine(url, **kwargs)
    if backend == SQLITE:
        configure_sqlite_by_hand(engine)
    return engine


def limit_sessions(engine: Engine) -> sessionmaker[Session]:
    """The limit's sessions: the book's ``sessionmaker``, objects still readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def create_tables(engine: Engine) -> None:
    """The book's four tables and the indexes of their foreign keys, empty."""
    with engine.begin() as connection:
        metadata.create_all(connection)


def insert_products(engine: Engine, specs: Iterable[tuple[str, list[BatchSpec]]]) -> None:
    """Insert products (version 1) and their batches, in one transaction (set-up, untimed)."""
    product_rows: list[dict[str, object]] = []
    batch_rows: list[dict[str, object]] = []
    for sku, batch_specs in specs:
        product_rows.append({"sku": sku, "version": 1})
        batch_rows.extend(
            {"reference": ref, "sku": sku, "_purchased_quantity": qty, "eta": eta}
            for ref, qty, eta in batch_specs
        )
    with engine.begin() as connection:
        connection.execute(insert(products), product_rows)
        connection.execute(insert(batches), batch_rows)


def stored_allocations(engine: Engine) -> list[tuple[str, str, str, int, int]]:
    """Every allocation in the database: ``(orderid, sku, batchref, qty, purchased)``."""
    query = (
        select(
            order_lines.c.orderid,
            order_lines.c.sku,
            batches.c.reference,
            order_lines.c.qty,
            batches.c._purchased_quantity,  # noqa: SLF001 - a column
        )
        .join(allocations, allocations.c.orderline_id == order_lines.c.id)
        .join(batches, batches.c.id == allocations.c.batch_id)
        .order_by(order_lines.c.id)
    )
    with engine.connect() as connection:
        return [(row[0], row[1], row[2], row[3], row[4]) for row in connection.execute(query)]


def hand_written_allocate(
    sessions: Callable[[], Session], backend: int
) -> Callable[[str, str, int], tuple[str | None, list[Allocated]]]:
    """The limit's command: one session, load the product, allocate, commit; its events."""
    query = product_query(backend)

    def allocate(orderid: str, sku: str, qty: int) -> tuple[str | None, list[Allocated]]:
        with sessions() as session:
            product: Product | None = session.scalars(query, {"sku": sku}).unique().first()
            if product is None:
                raise LookupError(f"Invalid sku {sku}")
            batchref = product.allocate(OrderLine(orderid, sku, qty))
            session.commit()
        recorded = product.events
        product.events = []
        return batchref, recorded

    return allocate
