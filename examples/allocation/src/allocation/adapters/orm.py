"""The allocation service's tables (the book's schema), and its domain model mapped onto them.

The domain model knows nothing of this module: `start_mappers` maps it imperatively, as the
book does, with one difference that SQLAlchemy 2 imposes. An `OrderLine` is a value object,
a frozen dataclass, and SQLAlchemy cannot map a frozen class as an entity (it must set an
attribute on each instance). So the rows of ``order_lines`` are mapped to a private
`_AllocatedLine`, whose ``line`` is the `OrderLine` (a composite of three columns), and a
batch's ``_allocations`` set of `OrderLine`s is a live view of its allocated rows. The
tables are the book's: ``products`` (with the version counter), ``batches``,
``order_lines`` and ``allocations`` between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableSet
from typing import TYPE_CHECKING, overload

from sqlalchemy import Column, Date, ForeignKey, Integer, MetaData, String, Table, inspect
from sqlalchemy.orm import composite, registry, relationship

from allocation.domain.model import Batch, OrderLine, Product
from tactical.sqlalchemy import map_aggregate, version_column

if TYPE_CHECKING:
    from sqlalchemy.orm.collections import InstrumentedSet

__all__ = [
    "allocations",
    "batches",
    "clear_mappers",
    "metadata",
    "order_lines",
    "products",
    "start_mappers",
]

metadata = MetaData()
"""Every table of the allocation service: pass it to `tactical.sqlalchemy.create_schema`."""

# --8<-- [start:tables]
order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sku", String(255)),
    Column("qty", Integer, nullable=False),
    Column("orderid", String(255)),
)

products = Table(
    "products",
    metadata,
    Column("sku", String(255), primary_key=True),
    version_column(),
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

allocations = Table(
    "allocations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("orderline_id", ForeignKey("order_lines.id")),
    Column("batch_id", ForeignKey("batches.id")),
)
# --8<-- [end:tables]

_mapper_registry = registry(metadata=metadata)


class _AllocatedLine:
    """A row of ``order_lines``: an order line allocated to a batch."""

    line: OrderLine

    def __init__(self, line: OrderLine) -> None:
        self.line = line


class _Lines(MutableSet[OrderLine]):
    """A batch's allocated order lines, as the set of `OrderLine` values the domain uses."""

    __slots__ = ("_rows",)

    def __init__(self, rows: InstrumentedSet[_AllocatedLine]) -> None:
        self._rows = rows

    def __contains__(self, line: object) -> bool:
        return any(row.line == line for row in self._rows)

    def __iter__(self) -> Iterator[OrderLine]:
        return (row.line for row in list(self._rows))

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, value: OrderLine) -> None:
        """Allocate a line (again: no effect)."""
        if value not in self:
            self._rows.add(_AllocatedLine(value))

    def discard(self, value: OrderLine) -> None:
        """Deallocate a line; its row is deleted."""
        for row in list(self._rows):
            if row.line == value:
                self._rows.remove(row)
                return

    def __repr__(self) -> str:
        return repr(set(self))


class _LinesOfBatch:
    """The descriptor that stands for ``Batch._allocations`` once the model is mapped."""

    @overload
    def __get__(self, batch: None, owner: type[Batch]) -> _LinesOfBatch: ...
    @overload
    def __get__(self, batch: Batch, owner: type[Batch]) -> _Lines: ...
    def __get__(self, batch: Batch | None, owner: type[Batch]) -> _Lines | _LinesOfBatch:
        if batch is None:
            return self
        rows: InstrumentedSet[_AllocatedLine] = batch._allocated_lines  # type: ignore[attr-defined]  # noqa: SLF001 - mapped here
        return _Lines(rows)

    def __set__(self, batch: Batch, lines: Iterable[OrderLine]) -> None:
        batch._allocated_lines = {_AllocatedLine(line) for line in lines}  # type: ignore[attr-defined]  # noqa: SLF001 - mapped here


# --8<-- [start:start_mappers]
def start_mappers() -> None:
    """Map `Product`, `Batch` and `OrderLine` onto the tables; later calls do nothing.

    Example:
        >>> start_mappers()
        >>> from sqlalchemy import inspect
        >>> inspect(Product).version_id_col is products.c.version
        True
        >>> clear_mappers()
    """
    if inspect(Product, raiseerr=False) is not None:
        return
    _mapper_registry.map_imperatively(
        _AllocatedLine,
        order_lines,
        properties={
            "line": composite(
                OrderLine, order_lines.c.orderid, order_lines.c.sku, order_lines.c.qty
            ),
        },
    )
    _mapper_registry.map_imperatively(
        Batch,
        batches,
        properties={
            "_allocated_lines": relationship(
                _AllocatedLine,
                secondary=allocations,
                collection_class=set,
                cascade="all, delete-orphan",
                single_parent=True,
            ),
        },
    )
    Batch._allocations = _LinesOfBatch()  # type: ignore[assignment]  # noqa: SLF001 - the mapping's view
    map_aggregate(
        _mapper_registry,
        Product,
        products,
        properties={"batches": relationship(Batch, order_by=batches.c.id)},
    )
    # --8<-- [end:start_mappers]


def clear_mappers() -> None:
    """Undo `start_mappers`: the domain classes are plain classes again."""
    _mapper_registry.dispose()
    if isinstance(Batch.__dict__.get("_allocations"), _LinesOfBatch):
        del Batch._allocations  # type: ignore[misc]  # noqa: SLF001 - the mapping's view
