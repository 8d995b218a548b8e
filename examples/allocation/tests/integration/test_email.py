"""The email notifications adapter, against a real SMTP conversation on loopback."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest

from allocation.adapters.notifications import EmailNotifications

if TYPE_CHECKING:
    from examples.allocation.tests.conftest import SmtpSink


def test_sends_one_email_per_notification(smtp_sink: SmtpSink) -> None:
    """Each notification is an email from the sender, to the destination, with the message."""
    notifications = EmailNotifications("127.0.0.1", smtp_sink.port, sender="alloc@example.com")
    notifications.send("stock@made.com", "Out of stock for LAMP")
    notifications.send("ops@made.com", "Out of stock for TABLE")
    first, second = smtp_sink.wait_for(2)
    assert (first["From"], first["To"], first["Subject"]) == (
        "alloc@example.com",
        "stock@made.com",
        "allocation service notification",
    )
    assert first.get_content().strip() == "Out of stock for LAMP"
    assert (second["To"], second.get_content().strip()) == (
        "ops@made.com",
        "Out of stock for TABLE",
    )


def test_an_unreachable_server_is_an_os_error() -> None:
    """With no server listening, sending raises an `OSError` (retried by the bus)."""
    with socket.socket() as placeholder:  # a port that was free a moment ago, and is closed
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    with pytest.raises(OSError):  # noqa: PT011 - any OSError: refused, reset, timed out
        EmailNotifications("127.0.0.1", port, timeout=5).send("stock@made.com", "hello")
