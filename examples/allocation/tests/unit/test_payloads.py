"""Payloads parsed into commands: what each entrypoint accepts, and what it says when it refuses."""

from __future__ import annotations

from datetime import date

import pytest

from allocation.domain import commands
from allocation.entrypoints import payloads
from allocation.entrypoints.payloads import MAX_QUANTITY, InvalidPayload

ALLOCATE = {"orderid": "o1", "sku": "LAMP", "qty": 3}
BATCH = {"ref": "b1", "sku": "LAMP", "qty": 10, "eta": "2024-03-15"}


def refused(parse: object, payload: object) -> str:
    assert callable(parse)
    with pytest.raises(InvalidPayload) as caught:
        parse(payload)
    return str(caught.value)


class TestDecode:
    def test_reads_json(self) -> None:
        """A JSON body becomes its value."""
        assert payloads.decode(b'{"qty": 3, "eta": null}') == {"qty": 3, "eta": None}

    @pytest.mark.parametrize(
        "body",
        [
            b"",
            b"{",
            b"{'qty': 3}",
            b"\xff\xfe\x00",
            b"[" * 100_000,
            b'{"qty": 1' + b"0" * 5000 + b"}",
        ],
        ids=["empty", "truncated", "single-quotes", "not-utf", "too-deep", "too-many-digits"],
    )
    def test_refuses_what_is_not_json(self, body: bytes) -> None:
        """Anything the JSON parser refuses, or chokes on, is one clear error."""
        assert refused(payloads.decode, body) == "the body is not valid JSON"


class TestAllocate:
    def test_parses_the_command(self) -> None:
        """The three fields make an `Allocate`."""
        assert payloads.allocate(ALLOCATE) == commands.Allocate("o1", "LAMP", 3)

    @pytest.mark.parametrize("payload", [[ALLOCATE], "o1", 3, None, True])
    def test_refuses_what_is_not_an_object(self, payload: object) -> None:
        """The payload must be a JSON object; the error names what it was."""
        assert refused(payloads.allocate, payload).startswith("the body must be a JSON object, not")

    @pytest.mark.parametrize("field", ["orderid", "sku", "qty"])
    def test_refuses_a_missing_field(self, field: str) -> None:
        """Each field is required, and the error names the one that is missing."""
        payload = {name: value for name, value in ALLOCATE.items() if name != field}
        assert refused(payloads.allocate, payload) == f"missing field: {field}"

    def test_refuses_an_unexpected_field(self) -> None:
        """A field the command does not have is refused (a typo would go unnoticed)."""
        message = refused(payloads.allocate, {**ALLOCATE, "quantity": 3})
        assert message == "unexpected field (expected orderid, sku, qty)"

    @pytest.mark.parametrize(
        ("qty", "kind"),
        [
            (True, "a boolean"),
            (3.0, "a number"),
            ("3", "a string"),
            (None, "null"),
            ([3], "an array"),
        ],
    )
    def test_refuses_a_quantity_that_is_not_an_integer(self, qty: object, kind: str) -> None:
        """``true``, ``3.0`` and ``"3"`` are not quantities."""
        message = refused(payloads.allocate, {**ALLOCATE, "qty": qty})
        assert message == f"qty must be an integer, not {kind}"

    @pytest.mark.parametrize("qty", [0, -1, MAX_QUANTITY + 1, 10**30])
    def test_refuses_a_quantity_out_of_range(self, qty: int) -> None:
        """A quantity is positive and fits an SQL integer."""
        message = refused(payloads.allocate, {**ALLOCATE, "qty": qty})
        assert message == f"qty must be an integer from 1 to {MAX_QUANTITY}"

    def test_takes_the_largest_quantity(self) -> None:
        """The largest SQL integer is a quantity."""
        assert payloads.allocate({**ALLOCATE, "qty": MAX_QUANTITY}).qty == MAX_QUANTITY

    @pytest.mark.parametrize(
        ("sku", "message"),
        [
            (7, "sku must be a string, not an integer"),
            ("", "sku must not be empty"),
            ("x" * 256, "sku must be at most 255 characters long"),
            ("LA\x00MP", "sku must hold printable characters only"),
            ("LAMP\n", "sku must hold printable characters only"),
            ("\ud800", "sku must hold printable characters only"),
        ],
        ids=["number", "empty", "too-long", "nul", "newline", "lone-surrogate"],
    )
    def test_refuses_a_bad_identifier(self, sku: object, message: str) -> None:
        """Identifiers are non-empty printable strings that fit their column."""
        assert refused(payloads.allocate, {**ALLOCATE, "sku": sku}) == message

    def test_takes_any_printable_identifier(self) -> None:
        """Spaces, accents and other scripts are fine, up to 255 characters."""
        command = payloads.allocate(
            {**ALLOCATE, "orderid": "commande n° 7 — 注文", "sku": "x" * 255}
        )
        assert command.orderid == "commande n° 7 — 注文"


class TestCreateBatch:
    def test_parses_the_command(self) -> None:
        """The four fields make a `CreateBatch`, the eta a date."""
        assert payloads.create_batch(BATCH) == commands.CreateBatch(
            "b1", "LAMP", 10, date(2024, 3, 15)
        )

    @pytest.mark.parametrize(
        "payload", [{**BATCH, "eta": None}, {"ref": "b1", "sku": "LAMP", "qty": 10}]
    )
    def test_a_batch_without_eta_is_in_the_warehouse(self, payload: dict[str, object]) -> None:
        """A null or absent eta means the batch is in the warehouse."""
        assert payloads.create_batch(payload).eta is None

    @pytest.mark.parametrize(
        "eta",
        [
            "2024-02-30",
            "2024-13-01",
            "20240315",
            "2024-W11",
            "15/03/2024",
            "2024-03-15T10:00",
            "\uff12\uff10\uff12\uff14-03-15",
            "",
        ],
    )
    def test_refuses_a_date_that_is_not_yyyy_mm_dd(self, eta: str) -> None:
        """Only a real calendar date written YYYY-MM-DD, in ASCII digits, is an eta."""
        message = refused(payloads.create_batch, {**BATCH, "eta": eta})
        assert message == "eta must be a date as YYYY-MM-DD, or null"

    def test_refuses_an_eta_that_is_not_a_string(self) -> None:
        """A number is not a date."""
        message = refused(payloads.create_batch, {**BATCH, "eta": 20240315})
        assert message == "eta must be a date (YYYY-MM-DD) or null, not an integer"

    def test_refuses_a_quantity_of_zero(self) -> None:
        """A batch holds at least one unit."""
        message = refused(payloads.create_batch, {**BATCH, "qty": 0})
        assert message == f"qty must be an integer from 1 to {MAX_QUANTITY}"


class TestChangeBatchQuantity:
    def test_parses_the_book_message(self) -> None:
        """``{"batchref", "qty"}`` becomes a `ChangeBatchQuantity`; a batch may shrink to 0."""
        payload = {"batchref": "b1", "qty": 0}
        assert payloads.change_batch_quantity(payload) == commands.ChangeBatchQuantity("b1", 0)

    def test_refuses_a_negative_quantity(self) -> None:
        """A batch cannot hold less than nothing."""
        message = refused(payloads.change_batch_quantity, {"batchref": "b1", "qty": -1})
        assert message == f"qty must be an integer from 0 to {MAX_QUANTITY}"


def test_errors_never_repeat_the_input() -> None:
    """A refused value is described, never echoed (it may be huge, or private)."""
    secret = "s3cr3t-" * 40
    for payload in [
        {**ALLOCATE, "sku": secret},
        {**ALLOCATE, "qty": secret},
        {**ALLOCATE, secret: 1},
        secret,
    ]:
        assert secret[:7] not in refused(payloads.allocate, payload)
    assert secret[:7] not in refused(payloads.create_batch, {**BATCH, "eta": secret})
