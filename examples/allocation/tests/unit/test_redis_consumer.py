"""Inbound entries decoded into commands: what the consumer takes, and what it dead-letters."""

from __future__ import annotations

import pytest

from allocation.domain import commands
from allocation.entrypoints.redis_consumer import decode
from tactical import DeserializationError, Envelope


def envelope(data: str, type_name: str = "ChangeBatchQuantity") -> Envelope:
    return Envelope(type_name, data, "m-1")


def test_takes_the_books_payload() -> None:
    """``{"batchref", "qty"}`` becomes `ChangeBatchQuantity`."""
    assert decode(envelope('{"batchref": "b1", "qty": 25}')) == commands.ChangeBatchQuantity(
        "b1", 25
    )


def test_refuses_another_type() -> None:
    """Any other type is refused as unknown, whatever its payload."""
    with pytest.raises(DeserializationError) as caught:
        decode(envelope('{"batchref": "b1", "qty": 25}', "Allocated"))
    assert (caught.value.reason, caught.value.type_name) == ("unknown_type", "Allocated")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("not json", "the body is not valid JSON"),
        ('{"batchref": "b1"}', "missing field: qty"),
        ('{"batchref": "b1", "qty": "25"}', "qty must be an integer, not a string"),
        ('{"batchref": "", "qty": 25}', "batchref must not be empty"),
        ('{"ref": "b1", "qty": 25}', "missing field: batchref"),
    ],
)
def test_refuses_a_bad_payload_saying_why(data: str, message: str) -> None:
    """A payload the HTTP API would refuse is refused here too, with the same reason."""
    with pytest.raises(DeserializationError, match=f"^{message}$") as caught:
        decode(envelope(data))
    assert caught.value.reason == "invalid_value"
