"""Notifications adapters: email for production, the console for demos, and none at all.

Each implements the service layer's `Notifications` port
(`allocation.service_layer.handlers.Notifications`): a ``send(destination, message)``.
"""

from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage
from typing import TextIO

SENDER = "allocations@example.com"
SUBJECT = "allocation service notification"


class EmailNotifications:
    """Sends each notification as an email through an SMTP server.

    A connection is opened per message, so one instance serves many threads and never
    holds a connection that the server has dropped.

    Args:
        host: The SMTP server's host.
        port: The SMTP server's port.
        sender: The ``From`` address.
        timeout: Seconds to wait for the server.
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int = 25,
        *,
        sender: str = SENDER,
        timeout: float = 10.0,
    ) -> None:
        """Send through the server at ``host``:``port``, as ``sender``."""
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout

    def send(self, destination: str, message: str, /) -> None:
        """Email ``message`` to ``destination``.

        Raises:
            OSError: The server is unreachable or refused the message (`smtplib` errors
                are `OSError`s).
        """
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = destination
        email["Subject"] = SUBJECT
        email.set_content(message)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as server:
            server.send_message(email)


class ConsoleNotifications:
    """Writes each notification as a line of text, for demos and local runs.

    Args:
        stream: Where to write; standard output (at the time of sending) by default.
        prefix: Written before each line (an indent, a tag).
    """

    def __init__(self, stream: TextIO | None = None, *, prefix: str = "") -> None:
        """Write to ``stream``, each line starting with ``prefix``."""
        self._stream = stream
        self._prefix = prefix

    def send(self, destination: str, message: str, /) -> None:
        """Write ``message`` and its ``destination`` on one line."""
        stream = sys.stdout if self._stream is None else self._stream
        stream.write(f"{self._prefix}notification to {destination}: {message}\n")


class NotificationsNotConfiguredError(OSError):
    """No mail server is configured, so no notification can be sent."""


class UnconfiguredNotifications:
    """Stands in for email when no mail server is configured: every notification fails.

    The failure happens inside the event handler that sends it, where the message bus
    retries it, logs it and dead-letters it; the request that caused it still succeeds.

    Args:
        setting: What to configure, named in the error.
    """

    def __init__(self, setting: str = "ALLOCATION_SMTP_HOST") -> None:
        """Fail every notification, pointing at ``setting``."""
        self._setting = setting

    def send(self, destination: str, message: str, /) -> None:  # noqa: ARG002 - the port's shape
        """Raise: there is nowhere to send ``message``.

        Raises:
            NotificationsNotConfiguredError: Always (the message is not in the error).
        """
        raise NotificationsNotConfiguredError(f"no mail server is configured: set {self._setting}")
