"""The read model: one contract, held by the in-memory fake, a SQLite file and PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from examples.allocation.tests.integration.conftest import url_of

from allocation.adapters.read_model import InMemoryAllocationsReadModel, SqlAllocationsReadModel

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from sqlalchemy import Engine

    from allocation.service_layer.read_model import AllocationsReadModel


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def read_model(
    request: pytest.FixtureRequest, tmp_path: Path, make_engine: Callable[[str], Engine]
) -> AllocationsReadModel:
    """The fake, and the SQL read model on each database."""
    if request.param == "memory":
        return InMemoryAllocationsReadModel()
    return SqlAllocationsReadModel(make_engine(url_of(request.param, request, tmp_path)))


def test_an_order_lists_its_lines_sorted_by_sku(read_model: AllocationsReadModel) -> None:
    """Each (sku, batchref) of the order, in sku order; other orders' rows are not shown."""
    read_model.add("o1", "TABLE", "b2")
    read_model.add("o1", "LAMP", "b1")
    read_model.add("o2", "LAMP", "b1")
    assert read_model.for_order("o1") == [("LAMP", "b1"), ("TABLE", "b2")]


def test_adding_a_row_twice_keeps_one(read_model: AllocationsReadModel) -> None:
    """An event handled twice (at-least-once delivery) leaves one row."""
    read_model.add("o1", "LAMP", "b1")
    read_model.add("o1", "LAMP", "b1")
    assert read_model.for_order("o1") == [("LAMP", "b1")]


def test_removing_forgets_only_that_sku_of_that_order(read_model: AllocationsReadModel) -> None:
    """A deallocated line leaves the order's other lines, and other orders, alone."""
    read_model.add("o1", "LAMP", "b1")
    read_model.add("o1", "TABLE", "b2")
    read_model.add("o2", "LAMP", "b1")
    read_model.remove("o1", "LAMP")
    assert read_model.for_order("o1") == [("TABLE", "b2")]
    assert read_model.for_order("o2") == [("LAMP", "b1")]


def test_removing_what_is_not_there_does_nothing(read_model: AllocationsReadModel) -> None:
    """Removing an unknown line is not an error."""
    read_model.remove("o1", "LAMP")
    assert read_model.for_order("o1") == []


def test_values_are_data_never_sql(read_model: AllocationsReadModel) -> None:
    """Quotes and SQL in identifiers are stored and matched as they are."""
    sneaky = "o1' OR '1'='1"
    read_model.add(sneaky, "LA'MP; DROP TABLE allocations_view; --", "b1")
    read_model.add("o2", "LAMP", "b1")
    assert read_model.for_order(sneaky) == [("LA'MP; DROP TABLE allocations_view; --", "b1")]
    assert read_model.for_order("o1") == []
    assert read_model.for_order("o2") == [("LAMP", "b1")]
