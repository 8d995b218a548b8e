"""Retrying with exponential back-off: a policy (`Backoff`), a function and a decorator."""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, ParamSpec, TypeVar, overload

from tactical._exceptions import RetryError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Backoff", "Retrying", "retry"]

P = ParamSpec("P")
R = TypeVar("R")


class Backoff:
    """When to retry and how long to wait: exponential back-off with a cap and full jitter.

    The wait before retry *n* (0-based) is ``min(cap, initial * factor ** n)``; with
    ``jitter`` it is drawn uniformly from ``[0, that]`` ("full jitter"), which spreads
    competing retries apart. Retrying stops after ``attempts`` attempts in all, or when the
    next wait would end past ``deadline`` seconds from the first attempt, whichever comes
    first; ``None`` disables either bound (not both).

    Args:
        initial: The first wait, in seconds.
        factor: How much each wait grows (at least 1).
        cap: The longest wait, in seconds.
        jitter: Draw each wait uniformly from zero to its nominal value.
        attempts: The most attempts in all, the first included.
        deadline: A time budget in seconds, measured from the first attempt.

    Example:
        >>> policy = Backoff(initial=0.1, factor=2, cap=0.5, jitter=False, attempts=5)
        >>> [policy.delay(n) for n in range(4)]
        [0.1, 0.2, 0.4, 0.5]
    """

    __slots__ = ("_attempts", "_cap", "_deadline", "_factor", "_initial", "_jitter")

    _initial: float
    _factor: float
    _cap: float
    _jitter: bool
    _attempts: int | None
    _deadline: float | None

    def __init__(
        self,
        *,
        initial: float = 0.05,
        factor: float = 2.0,
        cap: float = 5.0,
        jitter: bool = True,
        attempts: int | None = 3,
        deadline: float | None = None,
    ) -> None:
        # Written as `not x >= bound` so that NaN, which fails every comparison, is refused.
        if not (initial >= 0 and cap >= 0):
            raise ValueError("Backoff: initial and cap must not be negative")
        if not factor >= 1:
            raise ValueError(f"Backoff: factor must be at least 1, got {factor}")
        if attempts is not None and attempts < 1:
            raise ValueError(f"Backoff: attempts must be at least 1, got {attempts}")
        if deadline is not None and not deadline >= 0:
            raise ValueError("Backoff: deadline must not be negative")
        if attempts is None and deadline is None:
            raise ValueError("Backoff: give attempts or deadline (or both), or it never stops")
        assign = object.__setattr__
        assign(self, "_initial", initial)
        assign(self, "_factor", factor)
        assign(self, "_cap", cap)
        assign(self, "_jitter", jitter)
        assign(self, "_attempts", attempts)
        assign(self, "_deadline", deadline)

    @property
    def initial(self) -> float:
        """The first wait, in seconds."""
        return self._initial

    @property
    def factor(self) -> float:
        """How much each wait grows."""
        return self._factor

    @property
    def cap(self) -> float:
        """The longest wait, in seconds."""
        return self._cap

    @property
    def jitter(self) -> bool:
        """Whether each wait is drawn uniformly from zero to its nominal value."""
        return self._jitter

    @property
    def attempts(self) -> int | None:
        """The most attempts in all, the first included; ``None`` for no limit."""
        return self._attempts

    @property
    def deadline(self) -> float | None:
        """The time budget in seconds from the first attempt; ``None`` for no limit."""
        return self._deadline

    def _fields(self) -> tuple[object, ...]:
        return (self.initial, self.factor, self.cap, self.jitter, self.attempts, self.deadline)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Backoff is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Backoff is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not Backoff:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"Backoff(initial={self.initial!r}, factor={self.factor!r}, cap={self.cap!r}, "
            f"jitter={self.jitter!r}, attempts={self.attempts!r}, deadline={self.deadline!r})"
        )

    def delay(self, retry: int, random: Callable[[], float] | None = None) -> float:
        """The wait before retry number ``retry`` (0-based), in seconds, within ``[0, cap]``.

        Args:
            retry: How many retries came before this one.
            random: A source of floats in ``[0, 1)``, used for jitter; `random.random` by
                default.
        """
        try:
            # A float power stays fast for any retry number, where an int one would not.
            nominal = min(self.cap, self.initial * float(self.factor) ** retry)
        except OverflowError:  # the growth outgrew a float: past any finite cap
            nominal = self.cap if self.initial else 0.0
        if not self.jitter:
            return nominal
        return nominal * (random or default_random())()


def call_with_backoff(
    fn: Callable[[], R],
    *,
    on: tuple[type[BaseException], ...],
    backoff: Backoff,
    sleep: Callable[[float], object],
    clock: Callable[[], float],
    random: Callable[[], float] | None,
    failed: BaseException | None = None,
    attempted: list[int] | None = None,
) -> R:
    """Call ``fn`` until it returns, retrying the exceptions ``on``; re-raise the last one.

    Args:
        fn: What to call.
        on: The exceptions worth retrying.
        backoff: The policy.
        sleep: How to wait.
        clock: Monotonic seconds.
        random: Floats in ``[0, 1)``.
        failed: The error of a first attempt the caller already made.
        attempted: Receives the number of attempts made, for callers that report it.
    """
    started = clock()
    number = 0 if failed is None else 1
    last = failed
    while True:
        if last is not None:
            if backoff.attempts is not None and number >= backoff.attempts:
                raise last
            wait = backoff.delay(number - 1, random)
            if backoff.deadline is not None and clock() + wait - started > backoff.deadline:
                raise last
            sleep(wait)
        number += 1
        if attempted is not None:
            attempted[:] = [number]
        try:
            return fn()
        except on as error:
            last = error


class Retrying:
    """A configured retry: use it as a decorator, or call a function through it with `call`.

    Build it with [`retry`][tactical.retry]. Once attempts or time run out, it raises
    [`RetryError`][tactical.RetryError] chained to the last exception; an exception that is
    not retried propagates at once, unchanged.

    Example:
        >>> from tactical import Backoff, retry
        >>> retrying = retry(on=ValueError, backoff=Backoff(attempts=2), sleep=lambda s: None)
        >>> retrying.call(int, "42")
        42
    """

    __slots__ = ("_backoff", "_clock", "_on", "_random", "_sleep")

    def __init__(
        self,
        *,
        on: tuple[type[BaseException], ...],
        backoff: Backoff,
        sleep: Callable[[float], object],
        clock: Callable[[], float],
        random: Callable[[], float] | None,
    ) -> None:
        self._on = on
        self._backoff = backoff
        self._sleep = sleep
        self._clock = clock
        self._random = random

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``fn(*args, **kwargs)``, retrying as configured.

        Raises:
            RetryError: Attempts or the deadline ran out; ``last_exception`` is the last error.
        """
        attempted = [0]
        try:
            return call_with_backoff(
                functools.partial(fn, *args, **kwargs),
                on=self._on,
                backoff=self._backoff,
                sleep=self._sleep,
                clock=self._clock,
                random=self._random,
                attempted=attempted,
            )
        except self._on as exc:
            raise RetryError(attempted[0], exc) from exc

    def __call__(self, fn: Callable[P, R], /) -> Callable[P, R]:
        """Decorate ``fn`` so that every call is retried as configured."""

        @functools.wraps(fn)
        def retried(*args: P.args, **kwargs: P.kwargs) -> R:
            return self.call(fn, *args, **kwargs)

        return retried


_DEFAULT = Backoff()


def default_random() -> Callable[[], float]:
    """`random.random`, imported on first use to keep `import tactical` fast."""
    import random

    return random.random


@overload
def retry(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def retry(
    *,
    on: type[BaseException] | tuple[type[BaseException], ...] = ...,
    backoff: Backoff = ...,
    sleep: Callable[[float], object] = ...,
    clock: Callable[[], float] = ...,
    random: Callable[[], float] | None = ...,
) -> Retrying: ...
def retry(
    fn: Callable[P, R] | None = None,
    /,
    *,
    on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    backoff: Backoff = _DEFAULT,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    random: Callable[[], float] | None = None,
) -> Callable[P, R] | Retrying:
    """Retry a function with exponential back-off: as a decorator, or through ``.call``.

    Bare, ``@retry`` retries any `Exception` with the default [`Backoff`][tactical.Backoff]
    (3 attempts). With keywords, it returns a [`Retrying`][tactical.Retrying].

    Args:
        fn: The function to decorate (bare decorator form only).
        on: The exception type(s) worth retrying; others propagate at once.
        backoff: When to stop and how long to wait.
        sleep: How to wait; inject a fake to make tests instant.
        clock: Monotonic seconds, for the deadline.
        random: Floats in ``[0, 1)``, for jitter.

    Example:
        >>> calls = []
        >>> @retry(on=ConnectionError, backoff=Backoff(attempts=3), sleep=calls.append)
        ... def fetch() -> str:
        ...     if len(calls) < 2:
        ...         raise ConnectionError("not yet")
        ...     return "data"
        >>> fetch()
        'data'
        >>> len(calls)  # two waits before the third, successful attempt
        2
        >>> retry(on=KeyError, sleep=lambda s: None).call({}.__getitem__, "x")
        Traceback (most recent call last):
        ...
        tactical._exceptions.RetryError: gave up after 3 attempt(s); last error: KeyError
    """
    retrying = Retrying(
        on=on if isinstance(on, tuple) else (on,),
        backoff=backoff,
        sleep=sleep,
        clock=clock,
        random=random,
    )
    if fn is not None:
        return retrying(fn)
    return retrying
