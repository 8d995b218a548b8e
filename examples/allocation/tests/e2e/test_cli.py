"""The ``allocation`` command line in real processes: creating the schema, and refusals."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

import pytest
from examples.allocation.tests.e2e.conftest import console_script
from sqlalchemy import create_engine, inspect, make_url

from allocation.adapters.schema import metadata

if TYPE_CHECKING:
    from pathlib import Path


def allocation(*arguments: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("ALLOCATION_")
    }
    return subprocess.run(
        [console_script(), *arguments],
        cwd=cwd,
        env={**environment, **settings},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_init_db_creates_every_table_in_the_default_database(tmp_path: Path) -> None:
    """``allocation init-db`` on a fresh machine makes ./allocation.sqlite3 with every table."""
    done = allocation("init-db", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (
        0,
        "The allocation service's tables exist in sqlite:///allocation.sqlite3\n",
    )
    engine = create_engine(f"sqlite:///{tmp_path / 'allocation.sqlite3'}")
    assert set(inspect(engine).get_table_names()) == set(metadata.tables)
    engine.dispose()


def test_init_db_never_shows_a_password(tmp_path: Path, postgres_url: str) -> None:
    """The database's URL is shown with its password masked."""
    user, at, rest = make_url(postgres_url).render_as_string().partition("@")
    with_password = f"{user}:s3cr3t{at}{rest}"  # the test server trusts loopback: it is ignored
    done = allocation("init-db", cwd=tmp_path, ALLOCATION_DATABASE_URL=with_password)
    assert done.returncode == 0, done.stderr
    assert ":***@" in done.stdout
    assert "s3cr3t" not in done.stdout + done.stderr


@pytest.mark.parametrize("subcommand", ["consume", "relay"])
def test_consume_and_relay_need_redis(tmp_path: Path, subcommand: str) -> None:
    """Without ALLOCATION_REDIS_URL they stop at once, saying what to set."""
    done = allocation(subcommand, cwd=tmp_path)
    assert done.returncode == 2
    assert f"allocation {subcommand} needs Redis: set ALLOCATION_REDIS_URL" in done.stderr


def test_a_bad_setting_is_refused_by_name(tmp_path: Path) -> None:
    """A port that is not a port stops the command, naming the variable."""
    done = allocation("serve", cwd=tmp_path, ALLOCATION_PORT="http")
    assert done.returncode == 2
    assert "ALLOCATION_PORT must be a port number" in done.stderr
