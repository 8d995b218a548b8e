"""Untrusted payloads parsed into commands: the one place where outside input gets its types.

Every entrypoint (HTTP, the Redis consumer) parses here, so every one refuses the same
things with the same messages: a body that is not JSON, a payload that is not an object,
a missing or unexpected field, a wrong type (``true`` is not an integer), a quantity out
of range, a date that is not ``YYYY-MM-DD``, an identifier that is empty, too long for its
column, or holds characters that are not printable. A refused payload raises
`InvalidPayload`, whose message says what is wrong without repeating the input.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import TYPE_CHECKING, Final

from allocation.domain import commands

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "MAX_IDENTIFIER_LENGTH",
    "MAX_QUANTITY",
    "InvalidPayload",
    "allocate",
    "change_batch_quantity",
    "create_batch",
    "decode",
    "identifier",
]

MAX_IDENTIFIER_LENGTH: Final = 255
"""The longest reference, sku or order id: the width of their columns."""
MAX_QUANTITY: Final = 2**31 - 1
"""The largest quantity: what an SQL ``INTEGER`` holds."""

_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_JSON_TYPES: Final = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


class InvalidPayload(ValueError):  # noqa: N818 - reads as what it is, like the book's InvalidSku
    """The payload cannot become a command; the message says why."""


def decode(body: bytes | str) -> object:
    """The JSON value of a request body.

    Raises:
        InvalidPayload: The body is not JSON (or nests deeper than the parser goes).

    Example:
        >>> decode(b'{"qty": 3}')
        {'qty': 3}
    """
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise InvalidPayload("the body is not valid JSON") from error


def allocate(payload: object) -> commands.Allocate:
    """``{"orderid", "sku", "qty"}`` as an `Allocate` command.

    Raises:
        InvalidPayload: The payload is not that object.

    Example:
        >>> allocate({"orderid": "o1", "sku": "LAMP", "qty": 3})
        Allocate(orderid='o1', sku='LAMP', qty=3)
    """
    fields = _object(payload, required=("orderid", "sku", "qty"))
    return commands.Allocate(
        orderid=_identifier(fields, "orderid"),
        sku=_identifier(fields, "sku"),
        qty=_quantity(fields, "qty", least=1),
    )


def create_batch(payload: object) -> commands.CreateBatch:
    """``{"ref", "sku", "qty", "eta"}`` as a `CreateBatch` command; ``eta`` may be null or absent.

    Raises:
        InvalidPayload: The payload is not that object.

    Example:
        >>> create_batch({"ref": "b1", "sku": "LAMP", "qty": 10, "eta": "2024-03-15"})
        CreateBatch(ref='b1', sku='LAMP', qty=10, eta=datetime.date(2024, 3, 15))
    """
    fields = _object(payload, required=("ref", "sku", "qty"), optional=("eta",))
    return commands.CreateBatch(
        ref=_identifier(fields, "ref"),
        sku=_identifier(fields, "sku"),
        qty=_quantity(fields, "qty", least=1),
        eta=_date(fields, "eta"),
    )


def change_batch_quantity(payload: object) -> commands.ChangeBatchQuantity:
    """``{"batchref", "qty"}`` as a `ChangeBatchQuantity` command; the quantity may be 0.

    Raises:
        InvalidPayload: The payload is not that object.

    Example:
        >>> change_batch_quantity({"batchref": "b1", "qty": 0})
        ChangeBatchQuantity(ref='b1', qty=0)
    """
    fields = _object(payload, required=("batchref", "qty"))
    return commands.ChangeBatchQuantity(
        ref=_identifier(fields, "batchref"), qty=_quantity(fields, "qty", least=0)
    )


def identifier(value: str, name: str) -> str:
    """``value``, checked as an identifier (a reference, a sku, an order id) named ``name``.

    Raises:
        InvalidPayload: It is empty, longer than `MAX_IDENTIFIER_LENGTH`, or not printable.

    Example:
        >>> identifier("order-1", "orderid")
        'order-1'
    """
    if not value:
        raise InvalidPayload(f"{name} must not be empty")
    if len(value) > MAX_IDENTIFIER_LENGTH:
        raise InvalidPayload(f"{name} must be at most {MAX_IDENTIFIER_LENGTH} characters long")
    # Control characters, surrogates and the like: no database stores all of them alike.
    if not value.isprintable():
        raise InvalidPayload(f"{name} must hold printable characters only")
    return value


def _object(
    payload: object, *, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Mapping[str, object]:
    if not isinstance(payload, dict):
        raise InvalidPayload(f"the body must be a JSON object, not {_kind(payload)}")
    for name in required:
        if name not in payload:
            raise InvalidPayload(f"missing field: {name}")
    allowed = (*required, *optional)
    for name in payload:
        if name not in allowed:
            raise InvalidPayload(f"unexpected field (expected {', '.join(allowed)})")
    return payload


def _identifier(fields: Mapping[str, object], name: str) -> str:
    value = fields[name]
    if not isinstance(value, str):
        raise InvalidPayload(f"{name} must be a string, not {_kind(value)}")
    return identifier(value, name)


def _quantity(fields: Mapping[str, object], name: str, *, least: int) -> int:
    value = fields[name]
    if type(value) is not int:  # bool is an int to Python, never a quantity
        raise InvalidPayload(f"{name} must be an integer, not {_kind(value)}")
    if not least <= value <= MAX_QUANTITY:
        raise InvalidPayload(f"{name} must be an integer from {least} to {MAX_QUANTITY}")
    return value


def _date(fields: Mapping[str, object], name: str) -> date | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidPayload(f"{name} must be a date (YYYY-MM-DD) or null, not {_kind(value)}")
    wrong = f"{name} must be a date as YYYY-MM-DD, or null"
    if _DATE.fullmatch(value) is None:  # fromisoformat also takes 20240315, 2024-W11...
        raise InvalidPayload(wrong)
    try:
        return date.fromisoformat(value)
    except ValueError:  # a day or month out of range
        raise InvalidPayload(wrong) from None


def _kind(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)
