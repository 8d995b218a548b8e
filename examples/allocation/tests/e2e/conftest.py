"""Real ``allocation`` processes, started by the tests on free ports and stopped after them.

`start` runs a console-script subcommand (``serve``, later ``consume`` and ``relay``) in a
working directory of the test's own, with only the ``ALLOCATION_*`` settings the test
gives, and its output in a log file. A server listens on port 0 and the test reads the
port from gunicorn's "Listening at" line, so no two servers ever race for a port.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

STARTUP = 30.0
"""Seconds a process may take to start listening, and a request to be answered."""
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


def wait_until(condition: Callable[[], bool], what: str, timeout: float = STARTUP) -> None:
    """Poll ``condition`` until it holds, failing the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Process:
    """A running ``allocation`` subcommand, its log, and how to stop it."""

    def __init__(self, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.popen = popen
        self.log = log

    def output(self) -> str:
        """Everything the process has written so far (standard output and error)."""
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """Stop the process gracefully (SIGTERM), and return its exit status."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=STARTUP)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=STARTUP)
            pytest.fail(f"the process did not stop on SIGTERM; its output:\n{self.output()}")


class Server(Process):
    """A running ``allocation serve``, and an HTTP client for it."""

    def __init__(self, popen: subprocess.Popen[bytes], log: Path) -> None:
        super().__init__(popen, log)
        port: list[int] = []

        def listening() -> bool:
            if self.popen.poll() is not None:
                pytest.fail(f"allocation serve exited early:\n{self.output()}")
            found = LISTENING.search(self.output())
            if found:
                port.append(int(found.group(1)))
            return bool(port)

        wait_until(listening, "allocation serve to listen")
        self.port = port[0]
        # Workers boot after the socket is bound; the first answer says one is serving.
        wait_until(lambda: self.get("/allocations/ready")[0] == 404, "a worker to answer")

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] = {}
    ) -> tuple[int, Any]:
        """Send a request; the status and the body (JSON when it is JSON)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=STARTUP)
        try:
            connection.request(method, path, body=body, headers=dict(headers))
            response = connection.getresponse()
            data = response.read()
            if response.getheader("Content-Type", "").startswith("application/json"):
                return response.status, json.loads(data)
            return response.status, data.decode()
        finally:
            connection.close()

    def post(self, path: str, payload: object) -> tuple[int, Any]:
        """POST ``payload`` as JSON."""
        body = json.dumps(payload).encode()
        return self.request("POST", path, body, {"Content-Type": "application/json"})

    def get(self, path: str) -> tuple[int, Any]:
        """GET ``path``."""
        return self.request("GET", path)


def console_script() -> str:
    """The ``allocation`` console script installed beside this Python."""
    script = shutil.which("allocation", path=str(Path(sys.executable).parent))
    assert script is not None, "the allocation package is not installed with its script"
    return script


class Launcher:
    """Starts ``allocation`` subcommands in one working directory, and stops them all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[Process] = []

    def __call__(self, *arguments: str, settings: Mapping[str, str] = {}) -> Process:
        """Start ``allocation <arguments>`` with these ``ALLOCATION_*`` settings and no others."""
        environment = {
            name: value for name, value in os.environ.items() if not name.startswith("ALLOCATION_")
        }
        environment.update(settings)
        log = self.folder / f"{arguments[0]}-{len(self.processes)}.log"
        with log.open("wb") as output:
            popen = subprocess.Popen(
                [console_script(), *arguments],
                cwd=self.folder,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        process = (Server if arguments[0] == "serve" else Process)(popen, log)
        self.processes.append(process)
        return process

    def serve(self, *options: str, settings: Mapping[str, str] = {}) -> Server:
        """Start ``allocation serve --port 0 <options>``, and wait until it answers."""
        server = self("serve", "--port", "0", *options, settings=settings)
        assert isinstance(server, Server)
        return server

    def stop(self) -> None:
        """Stop every process started, in the order they started."""
        for process in self.processes:
            process.stop()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Launcher]:
    """Starts ``allocation`` subcommands in the test's directory; stops them after the test."""
    launcher = Launcher(tmp_path)
    yield launcher
    launcher.stop()


@pytest.fixture(scope="module")
def start_shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    """Starts ``allocation`` subcommands for a whole module; stops them after its last test."""
    launcher = Launcher(tmp_path_factory.mktemp("shared"))
    yield launcher
    launcher.stop()


@pytest.fixture
def serve(start: Launcher) -> Callable[..., Server]:
    """Starts ``allocation serve --port 0`` with the given settings and options."""
    return start.serve
