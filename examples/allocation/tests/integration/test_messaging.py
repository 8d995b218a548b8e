"""The outbox and the dead letters of the wired service, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from allocation import bootstrap
from allocation.adapters import messaging
from allocation.config import Config
from allocation.domain import commands
from allocation.service_layer.handlers import InvalidSku

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Engine


@pytest.fixture
def service(database_url: str, engine: Engine) -> Iterator[bootstrap.Service]:
    """The service on the test's empty database, with no mail server, streams under "p:"."""
    service = bootstrap.from_config(Config(database_url=database_url, stream_prefix="p:"))
    yield service
    service.close()


def outbox_rows(engine: Engine) -> list[tuple[str, str, dict[str, object]]]:
    table = messaging.outbox
    with engine.connect() as connection:
        rows = connection.execute(
            select(table.c.stream, table.c.type, table.c.data).order_by(table.c.id)
        )
        return [(stream, type_name, json.loads(data)) for stream, type_name, data in rows]


# --8<-- [start:outbox]
def test_each_allocation_is_in_the_outbox(service: bootstrap.Service, engine: Engine) -> None:
    """An allocation commits its `Allocated` event to the outbox, in the book's payload."""
    service.bus.handle(commands.CreateBatch("b1", "LAMP", 10, None))
    service.bus.handle(commands.Allocate("o1", "LAMP", 3))
    assert outbox_rows(engine) == [
        (
            "p:line_allocated",
            "Allocated",
            {"orderid": "o1", "sku": "LAMP", "qty": 3, "batchref": "b1"},
        )
    ]
    # --8<-- [end:outbox]


def test_work_that_fails_writes_nothing_to_the_outbox(
    service: bootstrap.Service, engine: Engine
) -> None:
    """A refused command leaves no message behind."""
    with pytest.raises(InvalidSku):
        service.bus.handle(commands.Allocate("o1", "NOPE", 3))
    assert outbox_rows(engine) == []


def test_a_notification_that_cannot_be_sent_is_a_dead_letter(
    service: bootstrap.Service, engine: Engine
) -> None:
    """Out of stock with no mail server: the command succeeds; the event becomes a dead letter."""
    service.bus.handle(commands.CreateBatch("b1", "LAMP", 1, None))
    assert service.bus.handle(commands.Allocate("o1", "LAMP", 3)) is None
    assert outbox_rows(engine) == [
        (
            "p:allocation:dead-letter",
            "DeadLetter",
            {
                "type": "OutOfStock",
                "data": '{"sku":"LAMP"}',
                "handler": "allocation.service_layer.handlers.send_out_of_stock_notification",
                "error": "NotificationsNotConfiguredError",
            },
        )
    ]
