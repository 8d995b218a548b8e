"""The HTTP API (Flask): parse the request, hand the command to the bus, shape the response.

=========================  ===================================  ============================
request                    body                                 response
=========================  ===================================  ============================
``POST /add_batch``        ``{"ref", "sku", "qty", "eta"}``     201 ``OK``
``POST /allocate``         ``{"orderid", "sku", "qty"}``        202 ``OK`` (out of stock too)
``GET /allocations/<id>``                                       200 ``[{"sku", "batchref"}]``
=========================  ===================================  ============================

Errors are JSON ``{"message": ...}``: 400 for a body that cannot become a command (see
`allocation.entrypoints.payloads`) or an unknown sku (``Invalid sku <sku>``), 404 for an
order with no allocations, 409 for a batch reference that exists, 413 for a body over the
limit, 503 when a product stayed contended past the bus's retries. A refused request
writes nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from flask import Flask, request
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from allocation import views
from allocation.entrypoints import payloads
from allocation.service_layer.handlers import DuplicateBatchref, InvalidSku
from tactical import ConcurrencyError

if TYPE_CHECKING:
    from flask.typing import ResponseReturnValue

    from allocation.service_layer.read_model import AllocationsReadModel
    from tactical import MessageBus

__all__ = ["MAX_BODY", "create_app"]

MAX_BODY: Final = 16 * 1024
"""The largest request body accepted, in bytes: commands are a few dozen."""

logger = logging.getLogger(__name__)


# --8<-- [start:create_app]
def create_app(
    bus: MessageBus, read_model: AllocationsReadModel, *, max_body: int = MAX_BODY
) -> Flask:
    """The WSGI application of the allocation service.

    One application (and its one bus) serves any number of threads.

    Args:
        bus: Handles the commands (`allocation.bootstrap.bootstrap`).
        read_model: Answers ``GET /allocations/<orderid>``.
        max_body: The largest request body accepted, in bytes; a larger one gets 413.
    """
    app = Flask("allocation")
    app.config["MAX_CONTENT_LENGTH"] = max_body
    # An order id holding "/" (sent as %2F) makes "//" in the path: no order, not a redirect.
    app.url_map.merge_slashes = False
    too_large = f"the body must be smaller than {max_body} bytes"

    def body() -> object:
        # Whatever the Content-Type says: clients such as curl -d send JSON as a form.
        data = request.get_data(cache=False)
        # A body longer than its Content-Length allows is refused before it is read; a
        # streamed (chunked) one is cut at the limit, silently, so reaching it means more.
        if request.content_length is None and len(data) >= max_body:
            raise RequestEntityTooLarge(too_large)
        return payloads.decode(data)

    @app.post("/add_batch")
    def add_batch() -> ResponseReturnValue:
        bus.handle(payloads.create_batch(body()))
        return _ok(201)

    @app.post("/allocate")
    def allocate() -> ResponseReturnValue:
        bus.handle(payloads.allocate(body()))
        return _ok(202)

    @app.get("/allocations/<orderid>")
    def allocations(orderid: str) -> ResponseReturnValue:
        found = views.allocations(payloads.identifier(orderid, "orderid"), read_model)
        if not found:
            return _error("No allocations for this order", 404)
        return found, 200

    _answer_errors_in_json(app, too_large)
    return app
    # --8<-- [end:create_app]


def _answer_errors_in_json(app: Flask, too_large: str) -> None:
    @app.errorhandler(payloads.InvalidPayload)
    @app.errorhandler(InvalidSku)
    def refused(error: ValueError) -> ResponseReturnValue:
        return _error(str(error), 400)

    @app.errorhandler(DuplicateBatchref)
    def duplicate(error: DuplicateBatchref) -> ResponseReturnValue:
        return _error(str(error), 409)

    @app.errorhandler(ConcurrencyError)
    def contended(error: ConcurrencyError) -> ResponseReturnValue:
        logger.warning("gave up on a contended command: %s", type(error).__qualname__)
        return _error("The product is busy: try again", 503)

    @app.errorhandler(InternalServerError)
    def failed(error: InternalServerError) -> ResponseReturnValue:
        # Flask has logged the original exception already; the client learns nothing of it.
        return _error("Internal server error", error.code or 500)

    @app.errorhandler(RequestEntityTooLarge)
    def oversized(error: RequestEntityTooLarge) -> ResponseReturnValue:
        return _error(too_large, error.code or 413)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        return _error(error.description or error.name, error.code or 500)


def _ok(status: int) -> tuple[str, int, dict[str, str]]:
    return "OK", status, {"Content-Type": "text/plain; charset=utf-8"}


def _error(message: str, status: int) -> tuple[dict[str, str], int]:
    return {"message": message}, status
