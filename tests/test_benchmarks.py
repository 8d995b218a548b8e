"""The benchmarks measure what they claim: every variant builds the read model of the limit.

A variant that produced another checksum would have done other work, and its time would mean
nothing. These run the variants at smoke-test size (``--quick``) in fresh interpreters, as
``python -m benchmarks`` does; lato and eventsourcing are skipped where the ``bench``
dependency group is not installed. W2, W3 and W5 need PostgreSQL (and W5 Redis): they run on
the test session's server, in databases and streams of their own that they remove.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
W1_VARIANTS = {
    "limit": None,
    "tactical": None,
    "tactical-fake": None,
    "lato": "lato",
    "eventsourcing": "eventsourcing",
}
"""Each W1 variant and the package it needs beyond the dev environment."""


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The children's environment: bytecode cached in a private directory, for speed."""
    cache = tmp_path_factory.mktemp("pycache")
    environment = {**os.environ, "PYTHONPYCACHEPREFIX": str(cache), "PYTHONHASHSEED": "0"}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def run(arguments: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def quick_w1(variant: str, environment: dict[str, str]) -> dict[str, Any]:
    completed = run(["benchmarks.run", "W1", variant, "--quick"], environment)
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout.splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def expected_checksum(environment: dict[str, str]) -> str:
    """The quick-mode checksum, as the limit (plain function calls) computes it."""
    checksum: str = quick_w1("limit", environment)["checksum"]
    return checksum


@pytest.mark.parametrize("variant", list(W1_VARIANTS))
def test_each_w1_variant_builds_the_same_read_model_as_the_limit(
    variant: str, environment: dict[str, str], expected_checksum: str
) -> None:
    """Each variant's read model has the limit's checksum, and it times the whole loop."""
    needs = W1_VARIANTS[variant]
    if needs is not None and importlib.util.find_spec(needs) is None:
        pytest.skip(f"{needs} is not installed (pip install --group bench)")
    result = quick_w1(variant, environment)
    assert result["checksum"] == expected_checksum
    assert result["operations"] == 2_000
    assert result["seconds"] > 0


def test_the_harness_reports_medians_ratios_and_validity(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    """``python -m benchmarks --quick`` runs each variant per round and writes the JSON results."""
    output = tmp_path / "results.json"
    completed = run(
        [
            "benchmarks",
            "--quick",
            "--workload",
            "W1",
            "--variant",
            "tactical",
            "--rounds",
            "2",
            "--output",
            str(output),
        ],
        environment,
    )
    assert completed.returncode == 0, completed.stderr
    assert "tactical" in completed.stdout
    w1 = json.loads(output.read_text(encoding="utf-8"))["workloads"]["W1"]
    assert w1["quick"] is True
    assert w1["machine"]["cpu_count"] == os.cpu_count()
    (group,) = w1["groups"]
    variants = {variant["name"]: variant for variant in group["variants"]}
    assert set(variants) == {"limit", "tactical"}
    for variant in variants.values():
        assert variant["status"] == "ok"
        assert len(variant["samples"]) == 2
        assert {sample["checksum"] for sample in variant["samples"]} == {group["expected_checksum"]}
    assert variants["limit"]["ratio"] == 1.0
    assert variants["tactical"]["ratio"] > 0


W2_VARIANTS = {"limit": None, "floor": None, "tactical": None, "eventsourcing": "eventsourcing"}
"""Each W2 variant and the package it needs beyond the dev environment."""


def quick_run(
    workload: str, variant: str, group: str, environment: dict[str, str]
) -> dict[str, Any]:
    completed = run(["benchmarks.run", workload, variant, "--group", group, "--quick"], environment)
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout.splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def service_environment(
    environment: dict[str, str], postgres_url: str, redis_url: str
) -> dict[str, str]:
    """The children's environment, pointed at the test session's PostgreSQL server and Redis.

    The benchmarks make (and drop) databases of their own on that server.
    """
    return {**environment, "TACTICAL_POSTGRES_URL": postgres_url, "TACTICAL_REDIS_URL": redis_url}


@pytest.fixture(scope="module")
def w2_expected_checksum(service_environment: dict[str, str]) -> str:
    """The quick-mode checksum of W2, as the hand-written limit computes it on SQLite."""
    checksum: str = quick_run("W2", "limit", "sqlite", service_environment)["checksum"]
    return checksum


@pytest.mark.postgres
@pytest.mark.parametrize("group", ["sqlite", "postgresql"])
@pytest.mark.parametrize("variant", list(W2_VARIANTS))
def test_each_w2_variant_builds_the_same_read_model_as_the_limit(
    variant: str, group: str, service_environment: dict[str, str], w2_expected_checksum: str
) -> None:
    """W2 at quick size: every variant, on both databases, reaches the limit's checksum."""
    needs = W2_VARIANTS[variant]
    if needs is not None and importlib.util.find_spec(needs) is None:
        pytest.skip(f"{needs} is not installed (pip install --group bench)")
    result = quick_run("W2", variant, group, service_environment)
    assert result["checksum"] == w2_expected_checksum
    assert result["operations"] == 200
    assert result["seconds"] > 0


@pytest.mark.postgres
@pytest.mark.parametrize("variant", ["handwritten", "tactical-optimistic", "tactical-pessimistic"])
def test_each_w3_variant_allocates_exactly_the_stock_to_8_threads(
    variant: str, service_environment: dict[str, str]
) -> None:
    """W3 at quick size (80 in stock, 100 requests, 8 threads): no oversold batch, 80
    successes, the database agrees, and no request fails with a conflict."""
    completed = run(["benchmarks.w3_contention", variant, "8", "--quick"], service_environment)
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.splitlines()[-1])
    assert result["checks"] == []
    assert result["successes"] == result["stored"] == 80
    assert result["out_of_stock"] == 20
    assert result["conflicts"] == 0


@pytest.mark.postgres
@pytest.mark.redis
def test_w5_delivers_every_event_through_the_outbox_as_the_floor_does(
    service_environment: dict[str, str],
) -> None:
    """W5 at quick size: the outbox, the relay and the consumer deliver the 1,000 events in
    order, building the raw redis-py floor's read model."""
    completed = run(["benchmarks.w5_redis", "--quick", "--floor-first"], service_environment)
    assert completed.returncode == 0, completed.stderr
    floor, tactical = json.loads(completed.stdout.splitlines()[-1])
    assert (floor["variant"], tactical["variant"]) == ("floor", "tactical")
    assert floor["events"] == tactical["events"] == 1_000
    assert tactical["checksum"] == floor["checksum"]
    assert tactical["latency_p99_ms"] >= tactical["latency_median_ms"] > 0
