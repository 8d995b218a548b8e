"""``allocation serve``: the HTTP API under gunicorn, a production WSGI server.

gunicorn's master process binds the socket and forks the workers; each worker builds the
service (its own database engine: connections never cross a fork) and serves requests on a
pool of threads, all sharing that worker's one message bus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from allocation import bootstrap
from allocation.entrypoints.flask_app import create_app

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from allocation.config import Config

__all__ = ["serve"]


class _Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn, configured from a mapping rather than its command line or a file."""

    def __init__(self, load: Callable[[], Any], options: Mapping[str, object]) -> None:
        self._load = load
        self._options = options
        super().__init__(prog="allocation serve")

    def load_config(self) -> None:
        for name, value in self._options.items():
            if name in self.cfg.settings:  # settings that older gunicorns lack are skipped
                self.cfg.set(name, value)

    def load(self) -> Any:
        return self._load()


def serve(
    config: Config, *, host: str = "127.0.0.1", port: int, workers: int = 2, threads: int = 8
) -> None:
    """Serve the API until SIGTERM (graceful) or SIGINT; the schema must exist.

    Args:
        config: The database and mail server of the service.
        host: The address to listen on (``0.0.0.0``: every interface).
        port: The port; 0 picks a free one, which the log's "Listening at" line names.
        workers: Worker processes.
        threads: Threads per worker.
    """

    def load() -> Any:
        service = bootstrap.from_config(config, create_schema=False)
        return create_app(service.bus, service.read_model)

    options = {
        "bind": [f"{host}:{port}"],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "proc_name": "allocation",
        # Several servers on one machine (tests, blue-green) must not share gunicorn's
        # default control socket in the home directory.
        "control_socket_disable": True,
    }
    _Gunicorn(load, options).run()
