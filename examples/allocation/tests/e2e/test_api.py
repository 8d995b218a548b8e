"""The HTTP API end to end: real ``allocation serve`` processes, on SQLite and on PostgreSQL.

The SQLite runs use the embedded default: no database setting at all, so the server makes
``allocation.sqlite3`` in its working directory. Out-of-stock notifications go to an SMTP
sink on loopback.
"""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from examples.allocation.tests.conftest import SmtpSink
    from examples.allocation.tests.e2e.conftest import Launcher, Server


def random_name(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, smtp_sink: SmtpSink) -> dict[str, str]:
    """The server's settings: the default database (SQLite) or PostgreSQL, and the SMTP sink."""
    mail = {"ALLOCATION_SMTP_HOST": "127.0.0.1", "ALLOCATION_SMTP_PORT": str(smtp_sink.port)}
    if request.param == "sqlite":
        return mail
    return {**mail, "ALLOCATION_DATABASE_URL": request.getfixturevalue("postgres_url")}


@pytest.fixture
def server(serve: Callable[..., Server], settings: dict[str, str]) -> Server:
    """A running server of the test's own: 2 worker processes of 8 threads each."""
    return serve(settings=settings)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_server(request: pytest.FixtureRequest, start_shared: Launcher) -> Server:
    """A running server for the tests that change nothing, on each database."""
    settings = {}
    if request.param == "postgresql":
        settings["ALLOCATION_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    return start_shared.serve(settings=settings)


def add_batch(server: Server, ref: str, sku: str, qty: int, eta: str | None) -> None:
    status, body = server.post("/add_batch", {"ref": ref, "sku": sku, "qty": qty, "eta": eta})
    assert (status, body) == (201, "OK")


def test_the_default_database_is_a_sqlite_file_in_the_working_directory(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    """With no settings at all, the server keeps its data in ./allocation.sqlite3."""
    server = serve()
    add_batch(server, "b1", "LAMP", 10, None)
    assert (tmp_path / "allocation.sqlite3").is_file()


# --8<-- [start:happy_path]
def test_happy_path_returns_202_and_allocates_to_the_earliest_batch(server: Server) -> None:
    """The book's first scenario: the order goes to the batch that arrives first."""
    sku, othersku = random_name("sku"), random_name("other")
    earlybatch, laterbatch, otherbatch = (random_name(n) for n in ("early", "later", "other"))
    add_batch(server, laterbatch, sku, 100, "2011-01-02")
    add_batch(server, earlybatch, sku, 100, "2011-01-01")
    add_batch(server, otherbatch, othersku, 100, None)
    orderid = random_name("order")

    assert server.post("/allocate", {"orderid": orderid, "sku": sku, "qty": 3}) == (202, "OK")

    assert server.get(f"/allocations/{orderid}") == (200, [{"sku": sku, "batchref": earlybatch}])
    # --8<-- [end:happy_path]


# --8<-- [start:unhappy_path]
def test_unhappy_path_returns_400_and_error_message(server: Server) -> None:
    """The book's second scenario: an unknown sku is a 400 naming it; the order stays unknown."""
    unknown_sku, orderid = random_name("sku"), random_name("order")
    status, body = server.post("/allocate", {"orderid": orderid, "sku": unknown_sku, "qty": 20})
    assert (status, body) == (400, {"message": f"Invalid sku {unknown_sku}"})
    status, _ = server.get(f"/allocations/{orderid}")
    assert status == 404
    # --8<-- [end:unhappy_path]


def test_out_of_stock_is_accepted_and_emails_the_stock_team(
    server: Server, smtp_sink: SmtpSink
) -> None:
    """Out of stock is a 202 like any allocation; an email tells the stock team."""
    sku, orderid = random_name("sku"), random_name("order")
    add_batch(server, random_name("batch"), sku, 1, None)
    assert server.post("/allocate", {"orderid": orderid, "sku": sku, "qty": 2}) == (202, "OK")
    [email] = smtp_sink.wait_for(1)
    assert email["To"] == "stock@made.com"
    assert email.get_content().strip() == f"Out of stock for {sku}"
    assert server.get(f"/allocations/{orderid}")[0] == 404


def test_concurrent_allocations_never_oversell(server: Server) -> None:
    """160 orders for one unit race for 40 units over 16 connections: exactly 40 get one."""
    sku, stock, orders, clients = random_name("sku"), 40, 160, 16
    add_batch(server, random_name("warehouse"), sku, stock // 2, None)
    add_batch(server, random_name("ship"), sku, stock - stock // 2, "2011-01-01")
    orderids = [random_name("order") for _ in range(orders)]

    def allocate(orderid: str) -> int:
        status, _ = server.post("/allocate", {"orderid": orderid, "sku": sku, "qty": 1})
        return status

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        statuses = list(pool.map(allocate, orderids))
    elapsed = time.perf_counter() - started

    assert statuses == [202] * orders
    allocated = [orderid for orderid in orderids if server.get(f"/allocations/{orderid}")[0] == 200]
    assert len(allocated) == stock
    print(  # noqa: T201 - the figures, shown with -s
        f"\n{orders} concurrent allocations of 1 unit for {stock} in stock over {clients} "
        f"connections: {len(allocated)} allocated, oversold 0, in {elapsed:.2f} s"
    )


TOO_LARGE = "the body must be smaller than 16384 bytes"
IN_RANGE = "qty must be an integer from 1 to 2147483647"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"orderid": "o1", "sku": "LAMP", "qty": ', 400, "the body is not valid JSON"),
        (
            b'{"orderid": "o1", "sku": "LAMP", "qty": true}',
            400,
            "qty must be an integer, not a boolean",
        ),
        (b'{"orderid": "o1", "sku": "LAMP", "qty": -3}', 400, IN_RANGE),
        (b'{"orderid": "o1", "sku": "LAMP", "qty": 99999999999}', 400, IN_RANGE),
        (
            b'{"orderid": "o1", "sku": "LA\\u0000MP", "qty": 1}',
            400,
            "sku must hold printable characters only",
        ),
        (b'{"orderid": "o1", "sku": "' + b"L" * 20_000 + b'", "qty": 1}', 413, TOO_LARGE),
    ],
    ids=["malformed", "bool", "negative", "bigint", "nul", "oversized"],
)
def test_bad_requests_over_http_get_a_4xx_with_a_message(
    shared_server: Server, body: bytes, status: int, message: str
) -> None:
    """Through gunicorn too, bad input is a 4xx with a JSON message, never a 500."""
    answer, payload = shared_server.request(
        "POST", "/allocate", body, {"Content-Type": "application/json"}
    )
    assert (answer, payload) == (status, {"message": message})


def test_an_oversized_chunked_body_is_refused(shared_server: Server) -> None:
    """A body sent in chunks, without a length, is cut off at the limit too: 413."""
    chunks = [b'{"orderid": "o1", "sku": "', *[b"L" * 4096] * 8, b'", "qty": 1}']
    answer, payload = shared_server.request(
        "POST",
        "/allocate",
        b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    assert (answer, payload) == (413, {"message": TOO_LARGE})
