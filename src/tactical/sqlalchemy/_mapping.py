"""Mapping aggregates: the version counter, and what the unit of work learns from a mapper.

The root of an aggregate is mapped with SQLAlchemy's ``version_id_col``: every ``UPDATE`` of
the root row then reads ``... WHERE key = ? AND version = ?``, and matches no row when another
transaction committed a change first. The counter is set by the unit of work
(``version_id_generator=False``), not by SQLAlchemy, because the unit of work must bump it
when anything inside the aggregate changes (a child row only), and only once per commit.

The relationships of the root's mapper, followed recursively, are the inside of the
aggregate: `get` loads all of it in one statement, and a change to any object reached
through them is a change to the aggregate. Refer to other aggregates by key, not by
relationship.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Final, TypeVar

from sqlalchemy import Column, Integer, event, inspect
from sqlalchemy.orm import Mapper, joinedload, selectinload

from tactical._aggregate import Entity

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.orm import InstanceState, registry
    from sqlalchemy.orm.strategy_options import _AbstractLoad

__all__ = ["AggregateMapping", "map_aggregate", "mapping_of", "version_column"]

A = TypeVar("A")

VERSION: Final = "version"


def version_column(name: str = VERSION) -> Column[int]:
    """The column of an aggregate's version counter: an integer that is never null.

    Example:
        >>> from sqlalchemy import MetaData, String, Table
        >>> products = Table(
        ...     "products",
        ...     MetaData(),
        ...     Column("sku", String(255), primary_key=True),
        ...     version_column(),
        ... )
        >>> products.c.version.nullable
        False
    """
    return Column(name, Integer, nullable=False)


def map_aggregate(
    mapper_registry: registry,
    cls: type[A],
    table: Table,
    /,
    *,
    version: str = VERSION,
    **kwargs: Any,
) -> Mapper[A]:
    """Map an aggregate root imperatively, with its version counter.

    It is ``mapper_registry.map_imperatively(cls, table, **kwargs)`` plus
    ``version_id_col=table.c[version]`` and ``version_id_generator=False`` (the unit of
    work sets the counter), and a new instance's ``version`` reads 0 before it is committed,
    as with an unmapped [`Aggregate`][tactical.Aggregate]. Map the aggregate's other
    classes (children) with ``map_imperatively`` as usual, and relate them to the root with
    ``properties={"items": relationship(...)}``.

    Args:
        mapper_registry: The registry to map in.
        cls: The aggregate root class.
        table: Its table, which has a version column (see `version_column`).
        version: The name of the version column and attribute.
        **kwargs: Passed to ``map_imperatively`` (``properties``...).

    Returns:
        The mapper.

    Example:
        >>> from sqlalchemy import MetaData, String, Table
        >>> from sqlalchemy.orm import registry
        >>> from tactical import Aggregate
        >>> class Product(Aggregate, key="sku"):
        ...     def __init__(self, sku: str) -> None:
        ...         self.sku = sku
        >>> mapper_registry = registry()
        >>> products = Table(
        ...     "products",
        ...     mapper_registry.metadata,
        ...     Column("sku", String(255), primary_key=True),
        ...     version_column(),
        ... )
        >>> mapper = map_aggregate(mapper_registry, Product, products)
        >>> mapper.version_id_col is products.c.version, Product("LAMP").version
        (True, 0)
        >>> mapper_registry.dispose()
    """
    mapper = mapper_registry.map_imperatively(
        cls,
        table,
        version_id_col=table.c[version],
        version_id_generator=False,
        **kwargs,
    )
    attribute = mapper.get_property_by_column(table.c[version]).key

    def start_at_zero(target: Any, args: Any, kwargs: Any) -> None:  # noqa: ARG001 - the event's signature
        setattr(target, attribute, 0)

    event.listen(mapper, "init", start_at_zero)
    return mapper


class AggregateMapping:
    """What a unit of work needs to know about a mapped aggregate class, worked out once."""

    __slots__ = (
        "__weakref__",
        "cls",
        "key",
        "loader",
        "mapper",
        "queries",
        "sqlite_loader",
        "sqlite_statements",
        "version",
    )

    def __init__(self, cls: type[Any], mapper: Mapper[Any], key: str, version: str) -> None:
        self.cls = cls
        self.mapper = mapper
        self.key = key
        self.version = version
        self.loader: tuple[_AbstractLoad, ...] = _load_everything(mapper, frozenset({mapper}))
        # SQLite materializes a LEFT JOIN of a parenthesized join (what joined loading of a
        # relationship through a secondary table renders) in full, for every query: load those
        # with a second statement instead, in the same read transaction.
        self.sqlite_loader: tuple[_AbstractLoad, ...] = _load_everything(
            mapper, frozenset({mapper}), secondary_apart=True
        )
        self.sqlite_statements = 1 + _secondaries(mapper, frozenset({mapper}))
        """How many statements load the aggregate on SQLite."""
        self.queries: dict[tuple[bool, bool], Any] = {}
        """`get`'s statements, built once: by (locking, SQLite)."""

    def members(self, root: object) -> list[InstanceState[Any]]:
        """The states of the root and of every loaded object inside its aggregate."""
        state: InstanceState[Any] = inspect(root)
        inside = state.mapper.cascade_iterator("save-update", state)
        return [state, *(found[2] for found in inside)]


_MAPPINGS: weakref.WeakKeyDictionary[Mapper[Any], dict[str | None, AggregateMapping]] = (
    weakref.WeakKeyDictionary()
)


def mapping_of(cls: type[Any], key: str | None = None) -> AggregateMapping:
    """The mapping of an aggregate class, checked: mapped, versioned, with a key column.

    Args:
        cls: The aggregate root class.
        key: The attribute holding the key; by default the one an
            [`Entity`][tactical.Entity] names, else the primary key.

    Raises:
        TypeError: The class is not mapped, has no version counter set by tactical, or its
            key is not a mapped column.
    """
    mapper = inspect(cls, raiseerr=False)
    if not isinstance(mapper, Mapper):
        raise TypeError(
            f"{cls.__qualname__} is not mapped: map it with tactical.sqlalchemy.map_aggregate()"
        )
    known = _MAPPINGS.setdefault(mapper, {})
    found = known.get(key)
    if found is not None:
        return found
    version_col = mapper.version_id_col
    if version_col is None or mapper.version_id_generator is not False:
        raise TypeError(
            f"{cls.__qualname__} has no version counter that the unit of work sets: map it "
            "with tactical.sqlalchemy.map_aggregate() (version_id_col=..., "
            "version_id_generator=False)"
        )
    name = key if key is not None else _default_key(cls, mapper)
    if name not in mapper.column_attrs:
        raise TypeError(f"{cls.__qualname__}.{name} is not a mapped column: it cannot be a key")
    version = mapper.get_property_by_column(version_col).key
    found = known[key] = AggregateMapping(cls, mapper, name, version)
    return found


def _default_key(cls: type[Any], mapper: Mapper[Any]) -> str:
    if issubclass(cls, Entity) and hasattr(cls, "__key__"):
        return cls.__key__
    if len(mapper.primary_key) != 1:
        raise TypeError(f"{cls.__qualname__} has a composite primary key: pass key=")
    return mapper.get_property_by_column(mapper.primary_key[0]).key


def _secondaries(mapper: Mapper[Any], path: frozenset[Mapper[Any]]) -> int:
    """How many relationships through a secondary table the aggregate has, recursively."""
    count = 0
    for relationship in mapper.relationships:
        target = relationship.mapper
        if target not in path:
            count += relationship.secondary is not None
            count += _secondaries(target, path | {target})
    return count


def _load_everything(
    mapper: Mapper[Any], path: frozenset[Mapper[Any]], *, secondary_apart: bool = False
) -> tuple[Any, ...]:
    """Joined eager loads of every relationship, recursively, but never back up the path.

    Joined loading reads the whole aggregate in one statement, which every database
    answers from one consistent state: no child row from a later commit than its root.
    """
    loads = []
    for relationship in mapper.relationships:
        target = relationship.mapper
        if target in path:
            continue
        if secondary_apart and relationship.secondary is not None:
            load = selectinload(relationship.class_attribute)
        else:
            load = joinedload(relationship.class_attribute)
        inner = _load_everything(target, path | {target}, secondary_apart=secondary_apart)
        loads.append(load.options(*inner) if inner else load)
    return tuple(loads)
