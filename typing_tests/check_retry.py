"""What users' code sees of `retry`, `Retrying` and `Backoff`."""

from __future__ import annotations

from typing import assert_type

from tactical import Backoff, Retrying, retry


@retry
def fetch(url: str, *, timeout: float = 1.0) -> bytes:
    return url.encode()


@retry(on=(ConnectionError, TimeoutError), backoff=Backoff(attempts=5), sleep=lambda s: None)
def count(text: str) -> int:
    return len(text)


def the_decorator_keeps_the_signature() -> None:
    assert_type(fetch("x"), bytes)
    assert_type(fetch("x", timeout=2.0), bytes)
    assert_type(count("abc"), int)
    fetch(1)  # type: ignore[arg-type]
    fetch("x", retries=3)  # type: ignore[call-arg]
    count()  # type: ignore[call-arg]


def retrying_is_a_value() -> None:
    retrying = retry(on=KeyError, backoff=Backoff(initial=0.1, jitter=False))
    assert_type(retrying, Retrying)
    assert_type(retrying.call(count, "abc"), int)
    assert_type(retrying.call(fetch, "x", timeout=3.0), bytes)
    assert_type(retrying(count)("abc"), int)
    retrying.call(count, 3)  # type: ignore[arg-type]


def backoff_fields() -> None:
    policy = Backoff(initial=0.01, factor=2, cap=1, jitter=True, attempts=None, deadline=30)
    assert_type(policy.initial, float)
    assert_type(policy.factor, float)
    assert_type(policy.cap, float)
    assert_type(policy.jitter, bool)
    assert_type(policy.attempts, int | None)
    assert_type(policy.deadline, float | None)
    assert_type(policy.delay(3), float)
    assert_type(policy.delay(3, random=lambda: 0.5), float)
    policy.initial = 1.0  # type: ignore[misc]
