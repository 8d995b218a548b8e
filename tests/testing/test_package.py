"""The testing kit's face: an extra of its own, re-exports only, never imported by tactical."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import tactical.testing


def run_python(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True
    )


def test_importing_tactical_does_not_import_the_testing_kit() -> None:
    """`import tactical` loads neither tactical.testing nor pytest nor Hypothesis."""
    result = run_python(
        "import sys, tactical; "
        "print(sorted(m for m in ('tactical.testing', 'pytest', 'hypothesis') if m in sys.modules))"
    )
    assert (result.returncode, result.stdout.strip()) == (0, "[]")


@pytest.mark.parametrize("missing", ["hypothesis", "pytest"])
def test_without_the_extra_the_import_error_names_it(missing: str) -> None:
    """Importing tactical.testing without pytest or Hypothesis says which extra to install."""
    result = run_python(f"import sys; sys.modules[{missing!r}] = None; import tactical.testing")
    assert result.returncode != 0
    assert "ImportError: tactical.testing needs pytest and Hypothesis" in result.stderr
    assert "pip install 'tactical[testing]'" in result.stderr


def test_all_is_sorted_and_unique() -> None:
    """`tactical.testing.__all__` lists each public name once, in sorted order."""
    assert tactical.testing.__all__ == sorted(set(tactical.testing.__all__))


@pytest.mark.parametrize("name", tactical.testing.__all__)
def test_every_public_name_is_a_documented_re_export(name: str) -> None:
    """Each name is defined in a private module and documented there."""
    obj = getattr(tactical.testing, name)
    assert obj.__module__.startswith("tactical.testing._")
    assert (inspect.getdoc(obj) or "").strip()
