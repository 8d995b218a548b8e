"""The package's face: a sorted, documented `__all__`, and an import that pulls in nothing extra."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import tactical

CORE_MODULES = sorted(
    path for path in Path(tactical.__file__).parent.glob("_*.py") if path.name != "__init__.py"
)


def test_all_is_sorted_and_unique() -> None:
    """`tactical.__all__` lists each public name once, in sorted order."""
    assert tactical.__all__ == sorted(set(tactical.__all__))


@pytest.mark.parametrize("name", tactical.__all__)
def test_every_public_name_is_importable_and_documented(name: str) -> None:
    """Each name in `__all__` exists on the package and has a docstring of its own."""
    obj = getattr(tactical, name)
    assert inspect.getdoc(obj), f"tactical.{name} has no docstring"
    assert (obj.__doc__ or "").strip(), f"tactical.{name} has no docstring of its own"


def test_the_package_has_a_version() -> None:
    """`tactical.__version__` is a version string."""
    assert tactical.__version__.count(".") >= 1


HEAVY = ("sqlalchemy", "redis", "hypothesis", "pytest", "psycopg")


def test_importing_tactical_pulls_in_no_optional_dependency() -> None:
    """`import tactical` in a fresh interpreter imports none of the extras or test tools."""
    script = (
        "import json, sys; import tactical; "
        "print(json.dumps(sorted({name.partition('.')[0] for name in sys.modules})))"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    loaded = set(json.loads(output))
    assert "tactical" in loaded
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda path: path.name)
def test_core_modules_never_import_the_package_root(path: Path) -> None:
    """Submodules import the module that defines a name, never `tactical` itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.module != "tactical", f"{path.name}:{node.lineno} imports tactical"
        elif isinstance(node, ast.Import):
            roots = [alias.name.partition(".")[0] for alias in node.names]
            assert "tactical" not in roots, f"{path.name}:{node.lineno} imports tactical"


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda path: path.name)
def test_core_modules_import_only_the_standard_library(path: Path) -> None:
    """The core depends on nothing but the standard library, `typing_extensions` and itself."""
    allowed = set(sys.stdlib_module_names) | {"typing_extensions", "tactical", "__future__"}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            assert node.module.partition(".")[0] in allowed, f"{path.name}: {node.module}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.partition(".")[0] in allowed, f"{path.name}: {alias.name}"
