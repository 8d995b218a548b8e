"""Mapping aggregates: the version counter, keys, and the errors that say what to fix."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, inspect
from sqlalchemy.orm import registry

from tactical import Aggregate
from tactical.sqlalchemy import (
    SqlAlchemyUnitOfWork,
    create_schema,
    create_session_factory,
    map_aggregate,
    version_column,
)
from tactical.sqlalchemy._mapping import mapping_of
from tactical.testing.sample import Basket

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Engine


class Coupon(Aggregate, key="code"):
    """An aggregate whose key is not its primary key (a surrogate ``id``)."""

    def __init__(self, code: str, percent: int) -> None:
        self.code = code
        self.percent = percent


class Ticket:
    """Not an Entity: its key is its primary key."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.version = 0


class Unversioned(Aggregate, key="name"):
    def __init__(self, name: str) -> None:
        self.name = name


class Unmapped(Aggregate, key="name"):
    pass


metadata = MetaData()
coupons = Table(
    "coupons",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(20), unique=True, nullable=False),
    Column("percent", Integer, nullable=False),
    version_column(),
)
tickets = Table("tickets", metadata, Column("number", Integer, primary_key=True), version_column())
unversioned = Table("unversioned", metadata, Column("name", String(20), primary_key=True))


@pytest.fixture(scope="module")
def mapped_here() -> Iterator[registry]:
    """This module's classes mapped, and unmapped again afterwards."""
    mapper_registry = registry(metadata=metadata)
    map_aggregate(mapper_registry, Coupon, coupons)
    map_aggregate(mapper_registry, Ticket, tickets)
    mapper_registry.map_imperatively(Unversioned, unversioned)
    yield mapper_registry
    mapper_registry.dispose()


@pytest.fixture
def engine_here(mapped_here: registry, sqlite_engine: Engine) -> Engine:
    create_schema(sqlite_engine, metadata)
    return sqlite_engine


def test_map_aggregate_maps_the_version_counter_for_the_unit_of_work(mapped: MetaData) -> None:
    """The root's version column is SQLAlchemy's version_id_col, set by tactical, not SQLAlchemy."""
    mapper = inspect(Basket)
    assert mapper.version_id_col is mapped.tables["baskets"].c.version
    assert mapper.version_id_generator is False


def test_a_new_mapped_aggregate_is_at_version_zero(mapped: MetaData) -> None:
    """Before its first commit, a mapped aggregate's version reads 0, as an unmapped one's does."""
    assert Basket("b1").version == 0


def test_the_key_may_be_another_column_than_the_primary_key(engine_here: Engine) -> None:
    """An Entity's key attribute is what get() looks up, even beside a surrogate primary key."""
    sessions = create_session_factory(engine_here)
    with SqlAlchemyUnitOfWork(sessions) as uow:
        uow.repository(Coupon).add(Coupon("SPRING", 10))
        uow.commit()
    with SqlAlchemyUnitOfWork(sessions) as uow:
        coupon = uow.repository(Coupon).get("SPRING")
        assert coupon is not None
        assert (coupon.percent, coupon.version) == (10, 1)


def test_the_key_of_a_plain_class_is_its_primary_key(engine_here: Engine) -> None:
    """A class that is not an Entity is keyed by its (single-column) primary key."""
    sessions = create_session_factory(engine_here)
    with SqlAlchemyUnitOfWork(sessions) as uow:
        uow.repository(Ticket).add(Ticket(7))
        uow.commit()
    with SqlAlchemyUnitOfWork(sessions) as uow:
        ticket = uow.repository(Ticket).get(7)
        assert ticket is not None
        assert ticket.version == 1


def test_an_explicit_key_names_the_attribute(mapped_here: registry) -> None:
    """repository(cls, key=...) looks aggregates up by that attribute."""
    assert mapping_of(Coupon, "percent").key == "percent"
    assert mapping_of(Coupon).key == "code"


def test_an_unmapped_class_is_refused(mapped_here: registry) -> None:
    """A class that is not mapped cannot have a repository: the error says how to map it."""
    with pytest.raises(TypeError, match="map_aggregate"):
        mapping_of(Unmapped)


def test_a_class_without_a_version_counter_is_refused(mapped_here: registry) -> None:
    """A class mapped without the version counter cannot be checked for conflicts: refused."""
    with pytest.raises(TypeError, match="version counter"):
        mapping_of(Unversioned)


def test_a_key_that_is_not_a_column_is_refused(mapped_here: registry) -> None:
    """The key must be a mapped column."""
    with pytest.raises(TypeError, match="not a mapped column"):
        mapping_of(Coupon, "events")


def test_a_composite_primary_key_needs_an_explicit_key(mapped_here: registry) -> None:
    """A plain class with a composite primary key must say which attribute is its key."""

    class Plain:
        pass

    local = registry()
    table = Table(
        "plain",
        MetaData(),
        Column("a", Integer, primary_key=True),
        Column("b", Integer, primary_key=True),
        version_column(),
    )
    map_aggregate(local, Plain, table)
    try:
        with pytest.raises(TypeError, match="composite primary key"):
            mapping_of(Plain)
        assert mapping_of(Plain, "a").key == "a"
    finally:
        local.dispose()


def test_importing_without_sqlalchemy_names_the_extra() -> None:
    """Without SQLAlchemy installed, importing tactical.sqlalchemy says which extra to install."""
    code = (
        "import sys; sys.modules['sqlalchemy'] = None\n"
        "try:\n    import tactical.sqlalchemy\n"
        "except ImportError as error:\n    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "pip install 'tactical[sqlalchemy]'" in result.stdout
