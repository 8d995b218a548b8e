"""The service wired by `from_config`, on a SQLite file and on PostgreSQL: the book's stories."""

from __future__ import annotations

import threading
from datetime import date
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import insert, inspect
from sqlalchemy.exc import IntegrityError

from allocation import bootstrap, views
from allocation.adapters import orm
from allocation.adapters.schema import create_tables, metadata
from allocation.config import Config
from allocation.domain import commands
from allocation.service_layer.handlers import DuplicateBatchref, InvalidSku
from tactical.sqlalchemy import create_engine

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sqlalchemy import Engine


@pytest.fixture
def service(database_url: str, engine: Engine) -> Iterator[bootstrap.Service]:
    """The service on the test's empty database, with no mail server."""
    service = bootstrap.from_config(Config(database_url=database_url))
    yield service
    service.close()


def test_allocations_reach_the_view(service: bootstrap.Service) -> None:
    """Allocating through the bus fills the view: the earliest batch takes the order."""
    service.bus.handle(commands.CreateBatch("later", "LAMP", 100, date(2011, 1, 2)))
    service.bus.handle(commands.CreateBatch("earlier", "LAMP", 100, date(2011, 1, 1)))
    assert service.bus.handle(commands.Allocate("o1", "LAMP", 10)) == "earlier"
    assert views.allocations("o1", service.read_model) == [{"sku": "LAMP", "batchref": "earlier"}]


def test_a_shrunk_batch_moves_its_lines_in_the_view(service: bootstrap.Service) -> None:
    """A batch that shrinks below its allocations sends lines to the next batch, in the view too."""
    bus = service.bus
    bus.handle(commands.CreateBatch("b1", "TABLE", 50, None))
    bus.handle(commands.CreateBatch("b2", "TABLE", 50, date(2011, 1, 1)))
    bus.handle(commands.Allocate("o1", "TABLE", 20))
    bus.handle(commands.Allocate("o2", "TABLE", 20))
    bus.handle(commands.ChangeBatchQuantity("b1", 25))
    where = [views.allocations(orderid, service.read_model) for orderid in ("o1", "o2")]
    assert sorted(row[0]["batchref"] for row in where) == ["b1", "b2"]


def test_unknown_skus_and_duplicate_batches_are_refused(service: bootstrap.Service) -> None:
    """The service's refusals reach the caller as the book's exceptions; nothing is written."""
    service.bus.handle(commands.CreateBatch("b1", "LAMP", 10, None))
    with pytest.raises(InvalidSku, match=r"^Invalid sku NOPE$"):
        service.bus.handle(commands.Allocate("o1", "NOPE", 1))
    with pytest.raises(DuplicateBatchref):
        service.bus.handle(commands.CreateBatch("b1", "TABLE", 10, None))
    assert views.allocations("o1", service.read_model) == []


def test_database_errors_never_show_the_values_sent(service: bootstrap.Service) -> None:
    """The engine hides statements' parameters (request data) from errors and logs."""
    with pytest.raises(IntegrityError) as caught, service.engine.begin() as connection:
        connection.execute(insert(orm.products), [{"sku": "S3CR3T", "version": 1}] * 2)
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(caught.value)


def test_creating_the_tables_again_keeps_the_rows(service: bootstrap.Service) -> None:
    """Creating the schema where it exists is harmless: ``serve`` does it at every start."""
    service.bus.handle(commands.CreateBatch("b1", "LAMP", 10, None))
    create_tables(service.engine)
    assert service.bus.handle(commands.Allocate("o1", "LAMP", 1)) == "b1"


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_processes_that_start_together_create_the_tables_once(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Several creators racing on a fresh database all succeed, and the schema is whole."""
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    engine = create_engine(url)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def create() -> None:
        start.wait(timeout=10)
        try:
            create_tables(engine)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert set(inspect(engine).get_table_names()) == set(metadata.tables)
    engine.dispose()
