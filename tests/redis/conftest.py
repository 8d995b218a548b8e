"""Fixtures for the Redis adapter: brokers on the shared server, and throwaway servers."""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import TYPE_CHECKING

import pytest
import redis

from tactical.redis import RedisBroker

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


@pytest.fixture
def stream(unique_name: str) -> str:
    """A stream name that no other test, or test run, uses."""
    return unique_name


@pytest.fixture
def redis_broker(redis_url: str, stream: str) -> Iterator[RedisBroker]:
    """A broker on the shared Redis; the test's streams are deleted afterwards."""
    with RedisBroker.from_url(redis_url) as broker:
        try:
            yield broker
        finally:
            keys = list(broker.client.scan_iter(match=f"{stream}*", count=1000))
            if keys:
                broker.client.delete(*keys)


class Server:
    """A private redis-server on a Unix socket, to stop, pause and misconfigure at will."""

    def __init__(self, directory: Path, *options: str) -> None:
        self.socket = directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self._command = [
            shutil.which("redis-server") or "redis-server",
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(directory),
            *options,
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        try:
            while True:
                try:
                    client.ping()
                except redis.RedisError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)  # polling for the server to come up, with a deadline
                else:
                    return
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start private Redis servers (options as for redis-server); all stopped after the test."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    started: list[Server] = []

    def make(*options: str) -> Server:
        directory = tmp_path / f"redis-{len(started)}"
        directory.mkdir()
        private = Server(directory, *options)
        started.append(private)
        private.start()
        return private

    try:
        yield make
    finally:
        for private in started:
            private.stop()


@pytest.fixture
def server(make_server: Callable[..., Server]) -> Server:
    """A private Redis server, stopped after the test."""
    return make_server()
