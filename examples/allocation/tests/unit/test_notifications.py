"""The console notifications adapter, and the stand-in when no mail server is configured."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import pytest

from allocation import bootstrap
from allocation.adapters.notifications import (
    ConsoleNotifications,
    NotificationsNotConfiguredError,
    UnconfiguredNotifications,
)
from allocation.domain import commands, events

if TYPE_CHECKING:
    from tactical import Event


def test_writes_one_line_per_notification() -> None:
    """Each notification is a line naming its destination, after the prefix."""
    out = io.StringIO()
    notifications = ConsoleNotifications(out, prefix="> ")
    notifications.send("stock@made.com", "Out of stock for LAMP")
    notifications.send("ops@made.com", "hello")
    assert out.getvalue() == (
        "> notification to stock@made.com: Out of stock for LAMP\n"
        "> notification to ops@made.com: hello\n"
    )


def test_writes_to_standard_output_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a stream, notifications go to the standard output of the moment."""
    ConsoleNotifications().send("stock@made.com", "Out of stock for LAMP")
    assert capsys.readouterr().out == "notification to stock@made.com: Out of stock for LAMP\n"


def test_without_a_mail_server_every_notification_fails() -> None:
    """The stand-in raises an `OSError` that says what to configure, and not the message."""
    with pytest.raises(NotificationsNotConfiguredError) as caught:
        UnconfiguredNotifications().send("stock@made.com", "Out of stock for SECRET-LAMP")
    assert isinstance(caught.value, OSError)
    assert str(caught.value) == "no mail server is configured: set ALLOCATION_SMTP_HOST"


def test_a_failed_notification_is_logged_and_dead_lettered_and_the_command_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Out of stock without a mail server: the command returns, the failure is reported once."""
    dead: list[tuple[Event, str]] = []
    bus = bootstrap.bootstrap(
        notifications=UnconfiguredNotifications(),
        on_dead_letter=lambda event, handler, error: dead.append((event, handler)),
    )
    bus.handle(commands.CreateBatch("b1", "SECRET-LAMP", 1, eta=None))
    with caplog.at_level(logging.ERROR, logger="tactical.bus"):
        assert bus.handle(commands.Allocate("o1", "SECRET-LAMP", 5)) is None
    assert dead == [
        (
            events.OutOfStock("SECRET-LAMP"),
            "allocation.service_layer.handlers.send_out_of_stock_notification",
        )
    ]
    [record] = caplog.records
    assert "NotificationsNotConfiguredError" in record.getMessage()
    assert "SECRET-LAMP" not in record.getMessage()
