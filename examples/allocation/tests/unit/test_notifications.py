"""The console notifications adapter."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from allocation.adapters.notifications import ConsoleNotifications

if TYPE_CHECKING:
    import pytest


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
