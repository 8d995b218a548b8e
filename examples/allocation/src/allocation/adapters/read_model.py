"""The read model's table, and the `AllocationsReadModel` port on it (and in memory).

`allocations_view` lives in the same metadata as the tables of `allocation.adapters.orm`,
so that creating the schema creates it too. `SqlAllocationsReadModel` speaks plain,
parameterised SQL to it: the read side needs no mapping, no unit of work, no aggregate.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sqlalchemy import Column, PrimaryKeyConstraint, String, Table, text

from allocation.adapters import orm

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["InMemoryAllocationsReadModel", "SqlAllocationsReadModel", "allocations_view"]

# --8<-- [start:sql]
allocations_view = Table(
    "allocations_view",
    orm.metadata,
    Column("orderid", String(255), nullable=False),
    Column("sku", String(255), nullable=False),
    Column("batchref", String(255), nullable=False),
    # The key makes adding a row twice (an event handled again) a no-op, and serves the
    # lookup by orderid, its first column.
    PrimaryKeyConstraint("orderid", "sku", "batchref"),
)

# Both SQLite (3.24+) and PostgreSQL read ON CONFLICT DO NOTHING the same way.
_ADD = text(
    "INSERT INTO allocations_view (orderid, sku, batchref) VALUES (:orderid, :sku, :batchref) "
    "ON CONFLICT DO NOTHING"
)
_REMOVE = text("DELETE FROM allocations_view WHERE orderid = :orderid AND sku = :sku")
_FOR_ORDER = text(
    "SELECT sku, batchref FROM allocations_view WHERE orderid = :orderid ORDER BY sku, batchref"
)


class SqlAllocationsReadModel:
    """The read model in the ``allocations_view`` table, each call a transaction of its own.

    Args:
        engine: The database's engine (the one the units of work use, or a replica's).
    """

    def __init__(self, engine: Engine) -> None:
        """Read and write through ``engine``."""
        self._engine = engine

    def add(self, orderid: str, sku: str, batchref: str, /) -> None:
        """Insert the row, unless it is there."""
        with self._engine.begin() as connection:
            connection.execute(_ADD, {"orderid": orderid, "sku": sku, "batchref": batchref})

    def remove(self, orderid: str, sku: str, /) -> None:
        """Delete the order's rows of ``sku``."""
        with self._engine.begin() as connection:
            connection.execute(_REMOVE, {"orderid": orderid, "sku": sku})

    def for_order(self, orderid: str, /) -> list[tuple[str, str]]:
        """The (sku, batchref) pairs of the order, sorted."""
        with self._engine.connect() as connection:
            rows = connection.execute(_FOR_ORDER, {"orderid": orderid})
            return [(sku, batchref) for sku, batchref in rows]
        # --8<-- [end:sql]


class InMemoryAllocationsReadModel:
    """The read model in a set, for tests and in-memory runs; safe to share between threads."""

    def __init__(self) -> None:
        """An empty read model."""
        self._rows: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def add(self, orderid: str, sku: str, batchref: str, /) -> None:
        """Add the row, unless it is there."""
        with self._lock:
            self._rows.add((orderid, sku, batchref))

    def remove(self, orderid: str, sku: str, /) -> None:
        """Remove the order's rows of ``sku``."""
        with self._lock:
            self._rows = {row for row in self._rows if row[:2] != (orderid, sku)}

    def for_order(self, orderid: str, /) -> list[tuple[str, str]]:
        """The (sku, batchref) pairs of the order, sorted."""
        with self._lock:
            rows = self._rows
        return sorted((sku, batchref) for order, sku, batchref in rows if order == orderid)
