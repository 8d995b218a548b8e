"""Every Python example in the README and the docs runs, and the reference covers the API.

Each ```python block is one test, named after its file and line. The blocks of one page run in
order in one namespace (a module of its own), so a page reads like a session, and each
``test_*`` function that a block defines is then called, as pytest would. A block may include
files, or named sections of files (pymdownx.snippets' block form: a ``--8<--`` line, the paths,
a ``--8<--`` line). What an included file is decides how it runs:

- a module of a package the reader has installed (the example app's ``allocation``, which the
  tutorial builds, and the ``boxoffice`` package of the how-to guides) is imported, as the
  reader's code imports it, and the page takes its names: its classes are defined once, so
  its tables and mappings are too;
- a test of the example app is compiled, not run here: it runs in the example's own suite,
  with its fixtures;
- any other file runs as the page shows it.

A block that must not run is preceded by ``<!-- skip: the reason -->``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import sys
import textwrap
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import tactical

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BOXOFFICE_CODE = DOCS / "tutorial" / "code"
"""Where the how-to guides' ``boxoffice`` package lives (on the path while pages run)."""
EXAMPLE = ROOT / "examples" / "allocation"
PACKAGE_ROOTS = (EXAMPLE / "src", BOXOFFICE_CODE)
"""The folders whose modules a page imports instead of running their text."""
EXAMPLE_TESTS = EXAMPLE / "tests"
REFERENCE = DOCS / "reference"
TUTORIAL = DOCS / "tutorial"

FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
SKIP = re.compile(r"^\s*<!--\s*skip\s*(?::\s*(?P<reason>.*?))?\s*-->\s*$")
SNIPPET_MARK = "--8<--"
SECTION = re.compile(r"^\s*#\s*--8<--\s*\[(?P<edge>start|end):(?P<name>\w+)\]\s*$")
PYTHON = frozenset({"python", "py", "python3"})


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced Python block of a page."""

    page: Path
    line: int
    source: str
    origin: Path
    origin_line: int
    skip: str | None
    includes: tuple[str, ...] = ()
    """The ``path`` or ``path:section`` of each file the block includes, in order."""

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages() -> list[Path]:
    """The README and every page of the docs, in a stable order."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def read_snippet(spec: str, root: Path = ROOT) -> str:
    """The text that ``--8<-- "spec"`` includes: a file, or one ``file:section`` of it.

    As pymdownx.snippets does (with ``dedent_subsections``): a whole file loses its section
    markers; a section is the lines between its first start marker and the next end marker,
    without the markers of other sections, and dedented.
    """
    return snippet_lines(spec, root)[0]


def snippet_lines(spec: str, root: Path = ROOT) -> tuple[str, int]:
    """The included text of ``spec`` and the number of its first line in its file."""
    path, _, section = spec.partition(":")
    lines = (root / path).read_text(encoding="utf-8").splitlines()
    if not section:
        return "\n".join(line for line in lines if not SECTION.match(line)), 1
    kept: list[str] = []
    first = 0
    for number, line in enumerate(lines, start=1):
        marker = SECTION.match(line)
        if marker and marker["name"] == section:
            if marker["edge"] == "start":
                first = first or number + 1
            elif first:
                break
        elif first and not marker:
            kept.append(line)
    if not first:
        raise LookupError(f"no section {section!r} in {path}")
    return textwrap.dedent("\n".join(kept)), first


def module_of(path: Path) -> str | None:
    """The dotted name of ``path`` if it is a module of an installed package, else ``None``."""
    for root in PACKAGE_ROOTS:
        if path.suffix == ".py" and path.is_relative_to(root):
            parts = path.relative_to(root).with_suffix("").parts
            return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    return None


def blocks_of(page: Path) -> list[Block]:
    """The Python blocks of a page, with snippets expanded as mkdocs expands them."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        words = opening["info"].strip().lstrip(".").split()
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines) and not (
            lines[index].strip().startswith(fence) and not lines[index].strip().strip(fence[0])
        ):
            body.append(lines[index].removeprefix(indent))
            index += 1
        index += 1
        if not words or words[0].lower() not in PYTHON:
            continue
        skip = SKIP.match(lines[start - 1]) if start else None
        reason = None if skip is None else (skip["reason"] or "")
        found.append(_block(page, start + 1, body, reason))
    return found


def _block(page: Path, line: int, body: list[str], skip: str | None) -> Block:
    specs = included_files(body)
    if specs is None:
        return Block(page, line, "\n".join(body), page, line + 1, skip)
    source = "\n".join(read_snippet(spec) for spec in specs)
    return Block(page, line, source, page, 1, skip, tuple(specs))


def included_files(body: list[str]) -> list[str] | None:
    """The files of a block that is only a block-form include, or ``None`` for plain code.

    The block form (``--8<--`` lines around the paths) is used because it is not valid
    Python: ``ruff format`` leaves such a block alone instead of rewriting the directive.
    """
    lines = [text.strip() for text in body if text.strip()]
    if len(lines) >= 3 and lines[0] == lines[-1] == SNIPPET_MARK:
        return lines[1:-1]
    return None


BLOCKS = [block for page in pages() for block in blocks_of(page)]


@dataclasses.dataclass
class PageRun:
    """The namespace of a page and how far through its blocks it has run."""

    module: types.ModuleType
    done: int = 0
    failed: Block | None = None


RUNS: dict[Path, PageRun] = {}


def page_module(page: Path) -> types.ModuleType:
    """A fresh module for a page's blocks, registered so dataclasses and pickling work."""
    slug = re.sub(r"\W", "_", str(page.relative_to(ROOT).with_suffix("")))
    module = types.ModuleType(f"docs_example_{slug}")
    module.__file__ = str(page)
    sys.modules[module.__name__] = module
    return module


def execute(block: Block, module: types.ModuleType) -> None:
    """Run a block in a page's module; tracebacks point at the page (or included file) line."""
    if not block.includes:
        run_source(block.source, block.origin, block.origin_line, module)
        return
    for spec in block.includes:
        path = ROOT / spec.partition(":")[0]
        name = module_of(path)
        text, first = snippet_lines(spec)
        if name is not None:
            imported = importlib.import_module(name)
            module.__dict__.update(
                (key, value) for key, value in vars(imported).items() if not key.startswith("__")
            )
        elif path.is_relative_to(EXAMPLE_TESTS):
            compile("\n" * (first - 1) + text, str(path), "exec", dont_inherit=True)
        else:
            run_source(text, path, first, module)


def run_source(source: str, origin: Path, first: int, module: types.ModuleType) -> None:
    """Run ``source`` (line ``first`` of ``origin``) in ``module``, then its new tests."""
    code = compile("\n" * (first - 1) + source, str(origin), "exec", dont_inherit=True)
    before = dict(module.__dict__)
    exec(code, module.__dict__)
    for name, value in list(module.__dict__.items()):
        if name.startswith("test_") and callable(value) and before.get(name) is not value:
            value()


def unmap_the_example() -> None:
    """Leave the example's domain classes unmapped, as its tests and the fakes expect them."""
    orm = sys.modules.get("allocation.adapters.orm")
    if orm is not None:
        orm.clear_mappers()


@pytest.fixture(autouse=True)
def boxoffice_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The how-to guides' package (``boxoffice``) is importable, as it is for a reader."""
    monkeypatch.syspath_prepend(str(BOXOFFICE_CODE))


@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_code_block_runs(block: Block) -> None:
    """The block runs without error after the blocks before it on its page."""
    if block.skip is not None:
        if not block.skip:
            pytest.fail("a skipped block needs a reason: <!-- skip: why -->")
        pytest.skip(block.skip)
    page_blocks = [each for each in BLOCKS if each.page == block.page]
    position = page_blocks.index(block)
    run = RUNS.get(block.page)
    if run is None:
        run = RUNS[block.page] = PageRun(page_module(block.page))
    if run.failed is not None:
        pytest.fail(f"an earlier block of this page failed: {run.failed.id}")
    for earlier in page_blocks[run.done : position + 1]:
        run.done += 1
        if earlier.skip is not None:
            continue
        try:
            execute(earlier, run.module)
        except BaseException:
            run.failed = earlier
            unmap_the_example()
            raise
    if run.done == len(page_blocks):
        # A page may map the example's classes onto tables; the next page starts unmapped.
        unmap_the_example()


def test_every_page_with_code_is_found() -> None:
    """The collector sees the README's example and the tutorial's included files."""
    readme = [block for block in BLOCKS if block.page.name == "README.md"]
    included = {Path(spec.partition(":")[0]).name for block in BLOCKS for spec in block.includes}
    assert readme, "README.md has no python block"
    assert {"model.py", "handlers.py", "bootstrap.py"} <= included


def tutorial_steps() -> list[Path]:
    """The tutorial's pages in the order of the navigation, without its index."""
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    step = re.compile(r"^\s+- [^:]+: (tutorial/\S+\.md)$", flags=re.MULTILINE)
    return [DOCS / path for path in step.findall(nav)]


@pytest.mark.parametrize("page", tutorial_steps(), ids=lambda page: page.name)
def test_each_tutorial_step_shows_the_example_and_ends_with_a_test(page: Path) -> None:
    """A step includes real code of the example app, and a test: the example's, or its own."""
    blocks = [block for block in BLOCKS if block.page == page]
    specs = [spec for block in blocks for spec in block.includes]
    source = [ROOT / spec.partition(":")[0] for spec in specs]
    assert any(path.is_relative_to(EXAMPLE) for path in source), f"{page.name} shows no real code"
    tests = any(path.is_relative_to(EXAMPLE_TESTS) for path in source) or any(
        re.search(r"^def test_", block.source, re.MULTILINE)
        for block in blocks
        if not block.includes
    )
    assert tests, f"{page.name} ends without a test"


def test_the_tutorial_has_its_steps() -> None:
    """The navigation lists the tutorial's steps, and every page of the tutorial is listed."""
    steps = tutorial_steps()
    assert len(steps) >= 10
    assert set(TUTORIAL.glob("*.md")) == {*steps, TUTORIAL / "index.md"}


def test_snippet_sections_are_extracted(tmp_path: Path) -> None:
    """A ``file:section`` include keeps the lines between its markers, dedented, markers dropped."""
    source = tmp_path / "example.py"
    source.write_text(
        "a = 1\n# --8<-- [start:two]\nb = 2\n# --8<-- [end:two]\nc = 3\n"
        "class C:\n    # --8<-- [start:method]\n    def f(self):\n"
        "        # --8<-- [start:inner]\n        return 1\n        # --8<-- [end:inner]\n"
        "        # --8<-- [end:method]\n"
    )
    assert read_snippet("example.py:two", root=tmp_path) == "b = 2"
    assert read_snippet("example.py:method", root=tmp_path) == "def f(self):\n    return 1"
    assert snippet_lines("example.py:inner", root=tmp_path) == ("return 1", 10)
    assert read_snippet("example.py", root=tmp_path).splitlines()[:3] == ["a = 1", "b = 2", "c = 3"]
    with pytest.raises(LookupError):
        read_snippet("example.py:three", root=tmp_path)


# The reference --------------------------------------------------------------------------------

PACKAGES = ["tactical", "tactical.testing", "tactical.sqlalchemy", "tactical.redis"]

# Public names whose docstrings have no example yet; a strict xfail, so adding the example
# makes the test fail until the name is removed from here.
MISSING_EXAMPLES: frozenset[str] = frozenset()


def importable(name: str) -> types.ModuleType | None:
    """The package, or ``None`` while it does not exist or its extra is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def public_names() -> Iterator[tuple[str, str]]:
    for package in PACKAGES:
        module = importable(package)
        for name in getattr(module, "__all__", ()):
            yield package, name


PUBLIC = list(public_names())


def reference_text() -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in REFERENCE.glob("*.md"))


@pytest.mark.parametrize(("package", "name"), PUBLIC, ids=[f"{p}.{n}" for p, n in PUBLIC])
def test_public_name_is_in_the_reference(package: str, name: str) -> None:
    """Each public name is rendered by a ``::: package.name`` or ``::: package`` directive."""
    text = reference_text()
    directives = set(re.findall(r"^:::\s*(\S+)\s*$", text, flags=re.MULTILINE))
    assert f"{package}.{name}" in directives or package in directives


@pytest.mark.parametrize(
    ("package", "name"),
    [
        pytest.param(
            package,
            name,
            marks=pytest.mark.xfail(reason="no example yet", strict=True)
            if f"{package}.{name}" in MISSING_EXAMPLES
            else (),
        )
        for package, name in PUBLIC
    ],
    ids=[f"{p}.{n}" for p, n in PUBLIC],
)
def test_public_name_has_an_example(package: str, name: str) -> None:
    """Each public class and function shows an example in its docstring."""
    obj: Any = getattr(importlib.import_module(package), name)
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        pytest.skip(f"{name} is neither a class nor a function")
    doc = inspect.getdoc(obj) or ""
    assert re.search(r"^\s*Examples?:\s*$", doc, flags=re.MULTILINE) or ">>>" in doc


def test_core_names_are_all_public() -> None:
    """The reference is checked against the whole public face of the core."""
    assert ("tactical", "bootstrap") in PUBLIC
    assert len([name for package, name in PUBLIC if package == "tactical"]) == len(tactical.__all__)


# The guarantees ---------------------------------------------------------------------------------

CONTRACTS = sorted((ROOT / "src" / "tactical" / "testing").glob("_*contracts.py"))
"""The modules of the contract suites, whose cases the tests of every adapter inherit."""


def guarantee_references() -> list[str]:
    text = (DOCS / "guarantees.md").read_text(encoding="utf-8")
    return re.findall(r"`(tests/[\w/]+\.py(?:::\w+)+)`", text)


@pytest.mark.parametrize("reference", guarantee_references())
def test_each_guarantee_names_an_existing_test(reference: str) -> None:
    """The test that the guarantees page names exists (its own file, or a contract suite)."""
    path, *scopes = reference.split("::")
    source = (ROOT / path).read_text(encoding="utf-8")
    name = scopes[-1]
    defined = re.compile(rf"^\s*def {name}\(", flags=re.MULTILINE)
    if len(scopes) > 1:
        assert re.search(rf"^class {scopes[0]}\b", source, flags=re.MULTILINE), reference
    in_contracts = any(defined.search(each.read_text(encoding="utf-8")) for each in CONTRACTS)
    assert defined.search(source) or in_contracts, f"no test {name} in {path}"


def test_the_guarantees_name_tests_of_every_kind() -> None:
    """The page is read: references to plain tests, to test classes and to contract cases."""
    references = guarantee_references()
    assert len(CONTRACTS) >= 2
    assert any(reference.count("::") == 1 for reference in references)
    assert any("TestRedisConsumer::" in reference for reference in references)
    assert any("test_processes.py::" in reference for reference in references)
