"""Generated bad requests against the real service (in process, on each database): 4xx, never 5xx.

Each request is a valid one with one thing broken: a field missing, unexpected, of the wrong
type, out of range, not printable, too long, not a date; or a body that is not a JSON
object, or not JSON at all; or an unknown sku. Every one must get a 4xx with a JSON message,
and none may write anything.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from allocation import bootstrap
from allocation.adapters.schema import metadata
from allocation.config import Config
from allocation.domain import commands
from allocation.entrypoints.flask_app import create_app
from allocation.entrypoints.payloads import MAX_IDENTIFIER_LENGTH, MAX_QUANTITY

if TYPE_CHECKING:
    from collections.abc import Iterator

    from flask.testing import FlaskClient
    from sqlalchemy import Engine

KNOWN_SKU = "KNOWN-LAMP"
ALLOCATE_FIELDS = ("orderid", "sku", "qty")
BATCH_FIELDS = ("ref", "sku", "qty", "eta")

identifiers = st.text(
    st.characters(categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=20
).filter(str.isprintable)
quantities = st.integers(min_value=1, max_value=MAX_QUANTITY)
dates = st.dates().map(lambda day: day.isoformat()).filter(lambda text: len(text) == 10)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=5,
)


def not_of(*kinds: type) -> st.SearchStrategy[Any]:
    """JSON values of none of these Python types (``bool`` is told apart from ``int``)."""
    return json_values.filter(lambda value: type(value) not in kinds)


bad_identifiers = st.one_of(
    not_of(str),
    st.just(""),
    st.text(min_size=MAX_IDENTIFIER_LENGTH + 1, max_size=MAX_IDENTIFIER_LENGTH + 40),
    st.tuples(identifiers, st.characters(categories=["Cc", "Cf", "Cs", "Zl", "Zp"])).map("".join),
)
bad_quantities = st.one_of(
    not_of(int),
    st.integers(max_value=0),
    st.integers(min_value=MAX_QUANTITY + 1),
)


def is_date(text: str) -> bool:
    """Whether ``text`` is a calendar date written YYYY-MM-DD in ASCII digits."""
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) is None:
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


bad_etas = st.one_of(not_of(str, type(None)), st.text().filter(lambda text: not is_date(text)))


@st.composite
def broken(draw: st.DrawFn, fields: tuple[str, ...], valid: dict[str, Any]) -> dict[str, Any]:
    """``valid`` with exactly one thing wrong."""
    payload = dict(valid)
    how = draw(st.sampled_from(["missing", "unexpected", "value"]))
    if how == "missing":
        required = [name for name in fields if name != "eta"]
        del payload[draw(st.sampled_from(required))]
    elif how == "unexpected":
        name = draw(st.text(max_size=10).filter(lambda text: text not in fields))
        payload[name] = draw(json_values)
    else:
        name = draw(st.sampled_from(fields))
        bad = {"qty": bad_quantities, "eta": bad_etas}.get(name, bad_identifiers)
        payload[name] = draw(bad)
    return payload


allocations = st.fixed_dictionaries(
    {"orderid": identifiers, "sku": st.just(KNOWN_SKU) | identifiers, "qty": quantities}
)
batches = st.fixed_dictionaries(
    {"ref": identifiers, "sku": st.just(KNOWN_SKU) | identifiers, "qty": quantities, "eta": dates}
)


def body_of(payload: object) -> bytes:
    return json.dumps(payload).encode()


def not_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return True
    return False


bad_bodies = st.one_of(
    st.tuples(st.just("/allocate"), allocations.flatmap(lambda v: broken(ALLOCATE_FIELDS, v))).map(
        lambda pair: (pair[0], body_of(pair[1]))
    ),
    st.tuples(st.just("/add_batch"), batches.flatmap(lambda v: broken(BATCH_FIELDS, v))).map(
        lambda pair: (pair[0], body_of(pair[1]))
    ),
    st.tuples(
        st.sampled_from(["/allocate", "/add_batch"]),
        not_of(dict).map(body_of) | st.binary().filter(not_json),
    ),
    st.tuples(
        st.just("/allocate"),
        allocations.filter(lambda v: v["sku"] != KNOWN_SKU).map(body_of),  # an unknown sku
    ),
)


@pytest.fixture
def service(database_url: str, engine: Engine) -> Iterator[bootstrap.Service]:
    service = bootstrap.from_config(Config(database_url=database_url))
    service.bus.handle(commands.CreateBatch("b1", KNOWN_SKU, 10, None))
    service.bus.handle(commands.Allocate("o1", KNOWN_SKU, 1))
    yield service
    service.close()


@pytest.fixture
def client(service: bootstrap.Service) -> FlaskClient:
    return create_app(service.bus, service.read_model).test_client()


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: int(
                connection.execute(select(func.count()).select_from(table)).scalar_one()
            )
            for table in metadata.sorted_tables
        }


PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(request=bad_bodies)
def test_bad_bodies_get_a_4xx_with_a_message_and_write_nothing(
    client: FlaskClient, engine: Engine, request: tuple[str, bytes]
) -> None:
    """A body broken in any one way is refused with a 4xx and a JSON message; nothing is written."""
    path, body = request
    before = row_counts(engine)
    response = client.post(path, data=body, content_type="application/json")
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json is not None
    assert isinstance(response.json["message"], str)
    assert row_counts(engine) == before


@PROPERTY
@given(orderid=st.text(min_size=1, max_size=300))
def test_any_order_id_gets_an_answer_never_a_5xx(client: FlaskClient, orderid: str) -> None:
    """Whatever the order id in the path, the view answers 200, 400 or 404."""
    response = client.get(f"/allocations/{urllib.parse.quote(orderid, safe='')}")
    assert response.status_code in {200, 400, 404}, (response.status_code, response.text)
