"""`retry` and `Backoff`: exponential back-off with cap and jitter, bounded by attempts or time."""

from __future__ import annotations

import inspect
import math
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tactical import Backoff, RetryError, Retrying, retry

if TYPE_CHECKING:
    from collections.abc import Callable


class FakeTime:
    """A clock that only moves when someone sleeps (or works), and the sleeps it saw."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def flaky(failures: int, error: type[Exception] = ConnectionError) -> Callable[..., str]:
    """A function that raises ``error`` on its first ``failures`` calls, then echoes."""
    calls: list[tuple[Any, ...]] = []

    def call(*args: Any, **kwargs: Any) -> str:
        calls.append((args, kwargs))
        if len(calls) <= failures:
            raise error(f"failure {len(calls)}")
        return f"ok after {len(calls)}"

    call.calls = calls  # type: ignore[attr-defined]
    return call


def calls_of(fn: Callable[..., Any]) -> list[tuple[Any, ...]]:
    return fn.calls  # type: ignore[attr-defined, no-any-return]


EXACT = Backoff(initial=1, factor=2, cap=5, jitter=False, attempts=10)


class TestRetrying:
    def test_call_retries_until_the_function_returns(self) -> None:
        """`.call` passes the arguments through and returns the first successful result."""
        time = FakeTime()
        fn = flaky(2)
        result = retry(on=ConnectionError, backoff=EXACT, sleep=time.sleep).call(fn, 1, key="v")
        assert result == "ok after 3"
        assert calls_of(fn) == [((1,), {"key": "v"})] * 3

    def test_a_decorated_function_is_retried_on_every_call(self) -> None:
        """The decorator form retries each call afresh, with the same policy."""
        time = FakeTime()
        fn = flaky(1)
        decorated = retry(on=ConnectionError, backoff=EXACT, sleep=time.sleep)(fn)
        assert decorated("a") == "ok after 2"
        assert decorated("b") == "ok after 3"
        assert time.sleeps == [1]

    def test_the_bare_decorator_retries_any_exception(self) -> None:
        """``@retry`` without arguments retries any Exception with the default policy."""
        attempts: list[int] = []

        @retry
        def fails_once() -> int:
            attempts.append(len(attempts))
            if len(attempts) < 2:
                raise ValueError
            return len(attempts)

        assert fails_once() == 2  # one real wait of at most 50 ms
        assert attempts == [0, 1]

    def test_waits_grow_exponentially_up_to_the_cap(self) -> None:
        """Without jitter the waits are initial, initial*factor, ... never above cap."""
        time = FakeTime()
        policy = Backoff(initial=0.5, factor=3, cap=10, jitter=False, attempts=6)
        with pytest.raises(RetryError):
            retry(on=ConnectionError, backoff=policy, sleep=time.sleep).call(flaky(99))
        assert time.sleeps == [0.5, 1.5, 4.5, 10, 10]

    def test_jitter_scales_each_wait_by_the_injected_random(self) -> None:
        """With jitter each wait is the nominal wait times a draw from ``random``."""
        time = FakeTime()
        draws = iter([0.5, 0.0, 0.25])
        policy = Backoff(initial=1, factor=2, cap=100, jitter=True, attempts=4)
        retrying = retry(
            on=ConnectionError, backoff=policy, sleep=time.sleep, random=lambda: next(draws)
        )
        with pytest.raises(RetryError):
            retrying.call(flaky(99))
        assert time.sleeps == [0.5, 0.0, 1.0]

    def test_it_stops_after_the_number_of_attempts(self) -> None:
        """After ``attempts`` failures it raises RetryError keeping the last exception."""
        time = FakeTime()
        fn = flaky(99)
        with pytest.raises(RetryError) as caught:
            retry(on=ConnectionError, backoff=EXACT, sleep=time.sleep).call(fn)
        assert len(calls_of(fn)) == 10
        assert caught.value.attempts == 10
        assert str(caught.value.last_exception) == "failure 10"
        assert caught.value.__cause__ is caught.value.last_exception
        assert "gave up after 10 attempt(s); last error: ConnectionError" in str(caught.value)

    def test_one_attempt_means_no_retry(self) -> None:
        """``attempts=1`` calls once and never sleeps."""
        time = FakeTime()
        with pytest.raises(RetryError) as caught:
            retry(on=ValueError, backoff=Backoff(attempts=1), sleep=time.sleep).call(
                flaky(1, ValueError)
            )
        assert caught.value.attempts == 1
        assert time.sleeps == []

    def test_it_stops_when_the_next_wait_would_pass_the_deadline(self) -> None:
        """With a deadline, it gives up rather than sleep past it (measured on the clock)."""
        time = FakeTime()
        policy = Backoff(initial=1, factor=2, cap=100, jitter=False, attempts=None, deadline=10)
        fn = flaky(99)
        with pytest.raises(RetryError) as caught:
            retry(on=ConnectionError, backoff=policy, sleep=time.sleep, clock=time.clock).call(fn)
        assert time.sleeps == [1, 2, 4]  # a wait of 8 would end at 15 > 10
        assert caught.value.attempts == len(calls_of(fn)) == 4

    def test_the_deadline_counts_time_spent_in_attempts(self) -> None:
        """The deadline runs from the first attempt, so slow attempts use it up too."""
        time = FakeTime()
        attempts: list[float] = []

        def slow() -> None:
            attempts.append(time.now)
            time.now += 2
            raise ConnectionError

        policy = Backoff(initial=1, factor=1, jitter=False, attempts=None, deadline=5)
        with pytest.raises(RetryError):
            retry(on=ConnectionError, backoff=policy, sleep=time.sleep, clock=time.clock).call(slow)
        assert attempts == [0, 3]

    def test_whichever_bound_comes_first_stops_it(self) -> None:
        """With both attempts and deadline, the first one reached ends the retrying."""
        for policy, expected in [
            (Backoff(initial=1, factor=1, jitter=False, attempts=3, deadline=100), 3),
            (Backoff(initial=1, factor=1, jitter=False, attempts=100, deadline=3), 4),
        ]:
            time = FakeTime()
            with pytest.raises(RetryError) as caught:
                retry(on=OSError, backoff=policy, sleep=time.sleep, clock=time.clock).call(
                    flaky(99)
                )
            assert caught.value.attempts == expected

    def test_other_exceptions_propagate_at_once_unchanged(self) -> None:
        """An exception not listed in ``on`` escapes on the first attempt, as it was."""
        time = FakeTime()
        error = KeyError("missing")

        def broken() -> None:
            raise error

        with pytest.raises(KeyError) as caught:
            retry(on=(ConnectionError, TimeoutError), sleep=time.sleep).call(broken)
        assert caught.value is error
        assert time.sleeps == []

    def test_an_unlisted_error_after_retries_propagates_unchanged(self) -> None:
        """A different exception on a later attempt ends retrying and is not wrapped."""
        errors: list[Exception] = [ConnectionError(), ValueError("different")]

        def fn() -> None:
            raise errors.pop(0)

        with pytest.raises(ValueError, match="different"):
            retry(on=ConnectionError, sleep=lambda _: None).call(fn)

    def test_subclasses_of_listed_exceptions_are_retried(self) -> None:
        """``on`` matches like ``except``: a subclass of a listed type is retried."""
        time = FakeTime()
        fn = flaky(2, ConnectionRefusedError)
        assert retry(on=(ValueError, OSError), sleep=time.sleep).call(fn) == "ok after 3"

    def test_a_retrying_object_is_reusable(self) -> None:
        """Each `.call` starts with a fresh attempt count and deadline."""
        time = FakeTime()
        retrying = retry(
            on=ConnectionError,
            backoff=Backoff(initial=1, factor=1, jitter=False, attempts=2),
            sleep=time.sleep,
            clock=time.clock,
        )
        assert isinstance(retrying, Retrying)
        assert retrying.call(flaky(1)) == "ok after 2"
        assert retrying.call(flaky(1)) == "ok after 2"

    def test_decorating_keeps_the_functions_name_doc_and_signature(self) -> None:
        """The decorated function looks like the original (``functools.wraps``)."""

        def fetch(url: str, *, timeout: float = 1.0) -> bytes:
            """Fetch a URL."""
            return url.encode()

        for decorated in (retry(fetch), retry(on=OSError)(fetch)):
            assert decorated.__name__ == "fetch"
            assert decorated.__qualname__ == fetch.__qualname__
            assert decorated.__doc__ == "Fetch a URL."
            assert decorated.__wrapped__ is fetch  # type: ignore[attr-defined]
            assert inspect.signature(decorated) == inspect.signature(fetch)
            assert decorated("x", timeout=2) == b"x"


VALID_FLOATS = st.floats(min_value=0, max_value=1e6, allow_nan=False)
FACTORS = st.floats(min_value=1, max_value=1e6, allow_nan=False) | st.integers(1, 1000)
RETRIES = st.integers(min_value=0, max_value=10**6)
UNIT = st.floats(min_value=0, max_value=1, exclude_max=True)


@st.composite
def backoffs(draw: st.DrawFn, jitter: bool | None = None) -> Backoff:
    attempts = draw(st.none() | st.integers(1, 100))
    deadline = draw((st.none() if attempts is not None else st.nothing()) | VALID_FLOATS)
    return Backoff(
        initial=draw(VALID_FLOATS),
        factor=draw(FACTORS),
        cap=draw(VALID_FLOATS),
        jitter=draw(st.booleans()) if jitter is None else jitter,
        attempts=attempts,
        deadline=deadline,
    )


class TestBackoffProperties:
    @given(backoffs(), RETRIES, UNIT)
    def test_every_delay_is_within_zero_and_cap(
        self, policy: Backoff, retry_number: int, draw: float
    ) -> None:
        """Whatever the policy and retry number, the wait lies in ``[0, cap]``."""
        assert 0 <= policy.delay(retry_number, lambda: draw) <= policy.cap

    @given(backoffs(jitter=False), RETRIES, st.integers(1, 10**6))
    def test_without_jitter_delays_never_decrease(
        self, policy: Backoff, retry_number: int, later: int
    ) -> None:
        """Without jitter a later retry never waits less than an earlier one."""
        assert policy.delay(retry_number) <= policy.delay(retry_number + later)

    @given(backoffs(jitter=False), st.integers(0, 5000))
    def test_without_jitter_the_delay_is_initial_times_factor_to_the_n_capped(
        self, policy: Backoff, retry_number: int
    ) -> None:
        """The wait before retry n is ``min(cap, initial * factor ** n)``, however large n is."""
        delay = policy.delay(retry_number)
        if policy.initial == 0:
            assert delay == 0
            return
        exponent = math.log(policy.initial) + retry_number * math.log(policy.factor)
        limit = math.log(policy.cap) if policy.cap > 0 else -math.inf
        assume(not math.isclose(exponent, limit, rel_tol=1e-9, abs_tol=1e-9))
        if exponent > limit:
            assert delay == policy.cap
        else:
            assert math.isclose(delay, math.exp(exponent), rel_tol=1e-6)

    @given(backoffs(jitter=True), st.integers(0, 200), UNIT)
    def test_jitter_scales_the_nominal_delay_by_the_draw(
        self, policy: Backoff, retry_number: int, draw: float
    ) -> None:
        """With jitter the wait is the nominal wait times the random draw."""
        nominal = Backoff(
            initial=policy.initial,
            factor=policy.factor,
            cap=policy.cap,
            jitter=False,
            attempts=1,
        ).delay(retry_number)
        assert policy.delay(retry_number, lambda: draw) == pytest.approx(nominal * draw)

    @given(backoffs(jitter=True), st.integers(0, 50))
    def test_the_default_random_stays_within_the_nominal_delay(
        self, policy: Backoff, retry_number: int
    ) -> None:
        """Without an injected source, jitter still draws within ``[0, nominal]``."""
        assert 0 <= policy.delay(retry_number) <= policy.cap


INVALID = st.one_of(
    st.builds(dict, initial=st.floats(max_value=0, exclude_max=True) | st.just(math.nan)),
    st.builds(dict, cap=st.floats(max_value=0, exclude_max=True) | st.just(math.nan)),
    st.builds(dict, factor=st.floats(max_value=1, exclude_max=True) | st.just(math.nan)),
    st.builds(dict, attempts=st.integers(max_value=0)),
    st.builds(dict, deadline=st.floats(max_value=0, exclude_max=True) | st.just(math.nan)),
    st.just({"attempts": None, "deadline": None}),
)


class TestBackoffValidation:
    @given(INVALID)
    def test_invalid_parameters_are_rejected(self, invalid: dict[str, Any]) -> None:
        """A negative or NaN time, a factor below 1, no attempt, or no bound is a ValueError."""
        with pytest.raises(ValueError, match="Backoff"):
            Backoff(**invalid)

    def test_the_defaults_are_a_valid_short_policy(self) -> None:
        """The default policy: 3 attempts, jittered waits from 50 ms, capped at 5 s."""
        policy = Backoff()
        assert (policy.initial, policy.factor, policy.cap) == (0.05, 2.0, 5.0)
        assert (policy.jitter, policy.attempts, policy.deadline) == (True, 3, None)

    def test_a_policy_is_an_immutable_value(self) -> None:
        """Backoff is frozen and compares by value, so it can be shared and reused."""
        assert Backoff(attempts=2) == Backoff(attempts=2)
        with pytest.raises(AttributeError):
            Backoff().cap = 1  # type: ignore[misc]
