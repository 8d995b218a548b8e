"""Strict JSON reading: size and depth limits, no NaN or infinity, no duplicate keys."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tactical._exceptions import DeserializationError

if TYPE_CHECKING:
    from tactical._codec import JSON

__all__ = ["check_size", "compact", "decode_utf8", "malformed", "parse_json"]


def compact(value: JSON) -> str:
    """``value`` as compact JSON text; non-ASCII characters are kept as they are."""
    import json  # here, not at the top: `import tactical` stays fast

    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def check_size(text: str, limit: int, type_name: str | None) -> None:
    """Raise unless ``text`` is valid Unicode of at most ``limit`` bytes in UTF-8.

    Raises:
        DeserializationError: reason ``"too_large"`` or ``"malformed"``.
    """
    if len(text) > limit:
        raise _too_large(len(text), limit, type_name)
    if not text.isascii():
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise malformed("the text is not valid Unicode", type_name) from None
        if size > limit:
            raise _too_large(size, limit, type_name)


def decode_utf8(document: bytes, limit: int, type_name: str | None) -> str:
    """``document`` as text, when it is UTF-8 of at most ``limit`` bytes.

    Raises:
        DeserializationError: reason ``"too_large"`` or ``"malformed"``.
    """
    if len(document) > limit:
        raise _too_large(len(document), limit, type_name)
    try:
        return document.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("the document is not UTF-8", type_name) from None


def parse_json(text: str, *, max_depth: int, type_name: str | None) -> JSON:
    """Parse JSON strictly: no NaN or infinity, no duplicate keys, at most ``max_depth`` deep.

    Raises:
        DeserializationError: reason ``"malformed"`` or ``"too_deep"``.
    """
    import json

    try:
        value: JSON = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except RecursionError:
        raise _too_deep(max_depth, type_name) from None
    except ValueError as error:
        raise malformed(f"not valid JSON ({error})", type_name) from None
    if _deeper_than(value, max_depth):
        raise _too_deep(max_depth, type_name)
    return value


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("a number is out of the range of a float")
    return number


def _unique_keys(pairs: list[tuple[str, JSON]]) -> dict[str, JSON]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("an object has a duplicate key")
    return result


def _deeper_than(value: JSON, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` deep (a lone object is depth 1)."""
    stack: list[tuple[dict[str, JSON] | list[JSON], int]] = []
    if isinstance(value, (dict, list)):
        stack.append((value, 1))
    while stack:
        current, depth = stack.pop()
        if depth > limit:
            return True
        children = current.values() if isinstance(current, dict) else current
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def malformed(problem: str, type_name: str | None) -> DeserializationError:
    """The error for data that is not even shaped like a message."""
    return DeserializationError(
        f"{_prefix(type_name)}malformed: {problem}", reason="malformed", type_name=type_name
    )


def _prefix(type_name: str | None) -> str:
    return "" if type_name is None else f"{type_name}: "


def _too_deep(limit: int, type_name: str | None) -> DeserializationError:
    return DeserializationError(
        f"{_prefix(type_name)}arrays and objects nest deeper than the limit of {limit}",
        reason="too_deep",
        type_name=type_name,
    )


def _too_large(size: int, limit: int, type_name: str | None) -> DeserializationError:
    return DeserializationError(
        f"{_prefix(type_name)}{size} bytes (at least), over the limit of {limit}",
        reason="too_large",
        type_name=type_name,
    )
