"""The HTTP API in process, on the fakes: the book's contract, and how it refuses bad requests."""

from __future__ import annotations

import functools
import io
import json
from typing import TYPE_CHECKING, Any

import pytest

import tactical
from allocation import bootstrap
from allocation.adapters.read_model import InMemoryAllocationsReadModel
from allocation.adapters.unit_of_work import FakeUnitOfWork
from allocation.domain import commands
from allocation.domain.model import Product
from allocation.entrypoints.flask_app import create_app
from allocation.entrypoints.payloads import MAX_QUANTITY
from tactical import Backoff, ConcurrencyError, InMemoryStore

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse


class FakeNotifications:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, destination: str, message: str, /) -> None:
        self.sent.append((destination, message))


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def read_model() -> InMemoryAllocationsReadModel:
    return InMemoryAllocationsReadModel()


@pytest.fixture
def notifications() -> FakeNotifications:
    return FakeNotifications()


@pytest.fixture
def app(
    store: InMemoryStore,
    read_model: InMemoryAllocationsReadModel,
    notifications: FakeNotifications,
) -> Flask:
    bus = bootstrap.bootstrap(
        uow=functools.partial(FakeUnitOfWork, store),
        notifications=notifications,
        read_model=read_model,
    )
    return create_app(bus, read_model, max_body=1024)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def post(client: FlaskClient, path: str, payload: Any) -> TestResponse:
    return client.post(path, data=json.dumps(payload), content_type="application/json")


def add_batch(client: FlaskClient, ref: str, sku: str, qty: int, eta: str | None) -> None:
    response = post(client, "/add_batch", {"ref": ref, "sku": sku, "qty": qty, "eta": eta})
    assert (response.status_code, response.text) == (201, "OK")


def committed_skus(store: InMemoryStore) -> list[str]:
    return [str(key) for key in store.keys(Product)]


class TestTheBooksScenarios:
    def test_allocates_to_the_earliest_batch(self, client: FlaskClient) -> None:
        """An order goes to the batch that arrives first, and the view says so."""
        add_batch(client, "later", "LAMP", 100, "2011-01-02")
        add_batch(client, "earlier", "LAMP", 100, "2011-01-01")
        add_batch(client, "other", "TABLE", 100, None)

        response = post(client, "/allocate", {"orderid": "o1", "sku": "LAMP", "qty": 3})
        assert (response.status_code, response.text) == (202, "OK")

        found = client.get("/allocations/o1")
        assert found.status_code == 200
        assert found.json == [{"sku": "LAMP", "batchref": "earlier"}]

    def test_unknown_sku_is_a_400_and_the_order_stays_unknown(self, client: FlaskClient) -> None:
        """Allocating an unknown sku says which; the order then has no allocations."""
        response = post(client, "/allocate", {"orderid": "o1", "sku": "NOPE", "qty": 3})
        assert response.status_code == 400
        assert response.json == {"message": "Invalid sku NOPE"}
        assert client.get("/allocations/o1").status_code == 404

    def test_out_of_stock_is_accepted_and_notified(
        self, client: FlaskClient, notifications: FakeNotifications
    ) -> None:
        """Out of stock is still 202; the stock team hears of it, and nothing is allocated."""
        add_batch(client, "b1", "LAMP", 2, None)
        response = post(client, "/allocate", {"orderid": "o1", "sku": "LAMP", "qty": 3})
        assert (response.status_code, response.text) == (202, "OK")
        assert notifications.sent == [("stock@made.com", "Out of stock for LAMP")]
        assert client.get("/allocations/o1").status_code == 404

    def test_an_order_lists_each_of_its_lines(self, client: FlaskClient) -> None:
        """An order with lines of several skus lists each, by sku."""
        add_batch(client, "b1", "TABLE", 10, None)
        add_batch(client, "b2", "LAMP", 10, None)
        post(client, "/allocate", {"orderid": "o1", "sku": "TABLE", "qty": 1})
        post(client, "/allocate", {"orderid": "o1", "sku": "LAMP", "qty": 1})
        assert client.get("/allocations/o1").json == [
            {"sku": "LAMP", "batchref": "b2"},
            {"sku": "TABLE", "batchref": "b1"},
        ]


MAX = MAX_QUANTITY
BAD_DATE = "eta must be a date as YYYY-MM-DD, or null"


class TestRefusals:
    @pytest.mark.parametrize(
        ("path", "body", "message"),
        [
            (
                "/allocate",
                b'{"orderid": "o1", "sku": "LAMP", "qty": ',
                "the body is not valid JSON",
            ),
            ("/allocate", b'{"orderid": "o1", "sku": "LAMP"}', "missing field: qty"),
            (
                "/allocate",
                b'{"orderid": "o1", "sku": "LAMP", "qty": true}',
                "qty must be an integer, not a boolean",
            ),
            (
                "/allocate",
                b'{"orderid": "o1", "sku": "LAMP", "qty": 0}',
                f"qty must be an integer from 1 to {MAX}",
            ),
            ("/allocate", b'["o1", "LAMP", 1]', "the body must be a JSON object, not an array"),
            (
                "/add_batch",
                b'{"ref": "b9", "sku": "LAMP", "qty": 1, "eta": "2024-02-30"}',
                BAD_DATE,
            ),
            (
                "/add_batch",
                b'{"ref": "b9", "sku": "", "qty": 1, "eta": null}',
                "sku must not be empty",
            ),
        ],
        ids=["malformed", "missing", "bool", "zero", "array", "bad-date", "empty-sku"],
    )
    def test_bad_input_is_a_400_that_says_why_and_writes_nothing(
        self, client: FlaskClient, store: InMemoryStore, path: str, body: bytes, message: str
    ) -> None:
        """A body that cannot become a command gets 400 with the reason; nothing changes."""
        add_batch(client, "b1", "LAMP", 10, None)
        response = client.post(path, data=body, content_type="application/json")
        assert response.status_code == 400
        assert response.json == {"message": message}
        assert committed_skus(store) == ["LAMP"]
        assert client.get("/allocations/o1").status_code == 404

    def test_the_content_type_does_not_matter(self, client: FlaskClient) -> None:
        """JSON sent as a form (``curl -d``) is read as JSON all the same."""
        response = client.post(
            "/add_batch",
            data='{"ref": "b1", "sku": "LAMP", "qty": 1, "eta": null}',
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 201

    def test_an_oversized_body_is_a_413(self, client: FlaskClient, store: InMemoryStore) -> None:
        """A body over the limit is refused unread, with a JSON message."""
        payload = {"ref": "b1", "sku": "LAMP", "qty": 1, "eta": None, "padding": "x" * 2000}
        response = post(client, "/add_batch", payload)
        assert response.status_code == 413
        assert response.json == {"message": "the body must be smaller than 1024 bytes"}
        assert committed_skus(store) == []

    def test_an_oversized_streamed_body_is_a_413(self, client: FlaskClient) -> None:
        """A body streamed without a length is refused once it reaches the limit."""
        stream = io.BytesIO(b'{"ref": "' + b"b" * 2000 + b'"}')
        response = client.post(
            "/add_batch",
            input_stream=stream,
            environ_overrides={"wsgi.input_terminated": True},
            headers={"Transfer-Encoding": "chunked"},
        )
        assert response.status_code == 413

    def test_a_batch_reference_is_unique(self, client: FlaskClient) -> None:
        """Adding a batch whose reference exists (for any sku) is a 409 that names it."""
        add_batch(client, "b1", "LAMP", 10, None)
        response = post(client, "/add_batch", {"ref": "b1", "sku": "TABLE", "qty": 5, "eta": None})
        assert response.status_code == 409
        assert response.json == {"message": "Batch b1 already exists"}

    @pytest.mark.parametrize("orderid", ["x" * 256, "o\x01"])
    def test_an_impossible_order_id_is_a_400(self, client: FlaskClient, orderid: str) -> None:
        """An order id no order can have is refused, with the reason."""
        response = client.get(f"/allocations/{orderid}")
        assert response.status_code == 400
        assert response.json is not None
        assert response.json["message"].startswith("orderid must")

    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [("GET", "/nowhere", 404), ("GET", "/allocate", 405), ("DELETE", "/allocations/o1", 405)],
    )
    def test_other_http_errors_are_json_too(
        self, client: FlaskClient, method: str, path: str, status: int
    ) -> None:
        """Unknown paths and methods get their status and a JSON message."""
        response = client.open(path, method=method)
        assert response.status_code == status
        assert response.json is not None
        assert set(response.json) == {"message"}


class TestFailures:
    @staticmethod
    def app_whose_allocate_raises(error: Exception) -> Flask:
        def allocate(command: commands.Allocate) -> None:
            raise error

        bus = tactical.bootstrap(
            uow=FakeUnitOfWork,
            handlers={commands.Allocate: allocate},
            command_retry=Backoff(attempts=1),
        )
        return create_app(bus, InMemoryAllocationsReadModel())

    def test_a_product_that_stays_contended_is_a_503(self) -> None:
        """When the bus gives up retrying a conflict, the client is told to try again."""
        app = self.app_whose_allocate_raises(ConcurrencyError("busy"))
        response = post(app.test_client(), "/allocate", {"orderid": "o1", "sku": "A", "qty": 1})
        assert response.status_code == 503
        assert response.json == {"message": "The product is busy: try again"}

    def test_an_unexpected_error_is_a_500_that_tells_nothing(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A bug is logged on the server; the client gets a bare JSON 500."""
        app = self.app_whose_allocate_raises(RuntimeError("the secret internals"))
        response = post(app.test_client(), "/allocate", {"orderid": "o1", "sku": "A", "qty": 1})
        assert response.status_code == 500
        assert response.json == {"message": "Internal server error"}
        assert "the secret internals" in caplog.text
