"""A Griffe extension for the docs build: render ``Example:`` sections as examples.

tactical's docstrings follow the Google style with a singular ``Example:`` heading. Griffe
reads only the plural ``Examples:`` as a section of examples (doctest lines become highlighted
code); a singular one becomes an admonition whose ``>>>`` lines Markdown would turn into
nested quotes. This extension renames the heading before the docstring is parsed.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"^(?P<indent>[ \t]*)Example:[ \t]*$", flags=re.MULTILINE)


class ExampleSections(griffe.Extension):
    """Rename each docstring's ``Example:`` heading to ``Examples:``."""

    def on_instance(self, *, obj: griffe.Object, **_kwargs: Any) -> None:
        docstring = obj.docstring
        if docstring is not None and "Example:" in docstring.value:
            docstring.value = _SINGULAR.sub(r"\g<indent>Examples:", docstring.value)
