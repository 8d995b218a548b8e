"""The benchmarks measure what they claim: every W1 variant builds the limit's read model.

A variant that produced another checksum would have done other work, and its time would mean
nothing. These run the variants at smoke-test size (``--quick``) in fresh interpreters, as
``python -m benchmarks`` does; lato and eventsourcing are skipped where the ``bench``
dependency group is not installed.
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
