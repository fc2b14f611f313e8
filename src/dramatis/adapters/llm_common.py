"""What the remote persona brains share: call failures, the circuit breaker, retries with
backoff, and turning a model's JSON answer into one of the listed options.

The Gemini brain and the OpenAI-compatible brain differ only in the request they build and the
response they read; the failure handling is the same for both (see ``adapters/gemini.py``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from dramatis.domain.context import ActionOption, DecisionContext
from dramatis.domain.ledger import Decision
from dramatis.engine.policy import decide_offline

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_REASONING = 400

# ------------------------------------------------------------------ failures


class CallError(Exception):
    """A call that gave no usable HTTP response; ``reason`` is safe to record."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class RetryableCallError(CallError):
    """A failure worth another try (408, 429, 5xx, transport errors)."""


class DailyQuotaExhausted(CallError):
    """A 429 for a per-day quota: retrying today is pointless."""


class UnusableAnswer(Exception):
    """The model answered, but the answer cannot be used; ``reason`` is safe to record."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ------------------------------------------------------------------ circuit breaker


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures and stays open for ``cooldown`` seconds.

    When the cool-down has passed one probe call is let through (half-open): its success closes
    the circuit, its failure opens it again for another cool-down. Other calls made while the
    probe is in flight are refused. Single event loop: no locking needed.
    """

    def __init__(
        self, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if threshold < 1:
            raise ValueError(f"breaker threshold must be at least 1, not {threshold}")
        if cooldown < 0:
            raise ValueError(f"breaker cooldown must not be negative, not {cooldown}")
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self.consecutive_failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at < self.cooldown:
            return "open"
        return "half-open"

    def allow(self) -> bool:
        """Whether a call may go out now (claims the probe slot when half-open)."""
        state = self.state
        if state == "closed":
            return True
        if state == "open" or self._probing:
            return False
        self._probing = True
        return True

    def record_success(self) -> None:
        self.consecutive_failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self.consecutive_failures += 1
        probe_failed = self._probing
        self._probing = False
        if probe_failed or self.consecutive_failures >= self.threshold:
            self._opened_at = self._clock()

    def trip(self) -> None:
        """Open now, whatever the count (e.g. the daily quota is spent)."""
        self.consecutive_failures = max(self.consecutive_failures, self.threshold)
        self._probing = False
        self._opened_at = self._clock()


# ------------------------------------------------------------------ retries


class Backoff:
    """The wait before the next try: the server's delay (capped) if it gave one, else
    exponential backoff with full jitter."""

    def __init__(self, base_seconds: float, max_seconds: float, delay_cap_seconds: float) -> None:
        self.delay_cap_seconds = delay_cap_seconds
        self._jitter = wait_random_exponential(multiplier=base_seconds, max=max_seconds)

    def __call__(self, state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, CallError) and error.retry_after is not None:
            return min(error.retry_after, self.delay_cap_seconds)
        return float(self._jitter(state))


async def call_with_retries(
    call: Callable[[], Awaitable[T]], *, max_attempts: int, wait: Backoff
) -> T:
    """``call()`` retried on RetryableCallError; after the last try a plain CallError says how
    many tries were made."""
    retrying = AsyncRetrying(
        stop=stop_after_attempt(max_attempts),
        wait=wait,
        retry=retry_if_exception_type(RetryableCallError),
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                return await call()
    except RetryableCallError as exc:
        tries = retrying.statistics.get("attempt_number", max_attempts)
        raise CallError(
            f"{exc.reason} (gave up after {tries} tr{'y' if tries == 1 else 'ies'})"
        ) from None
    raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover


async def guarded(breaker: CircuitBreaker, call: Callable[[], Awaitable[T]]) -> T:
    """``call()`` through ``breaker``: CallError("circuit open") when it is open; a daily-quota
    failure trips it, any other CallError counts as one failure, a result closes it."""
    if not breaker.allow():
        raise CallError("circuit open")
    try:
        result = await call()
    except DailyQuotaExhausted:
        breaker.trip()
        raise
    except CallError:
        breaker.record_failure()
        raise
    breaker.record_success()
    return result


# ------------------------------------------------------------------ requests and answers

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and hashed): compact, stable JSON."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_duration(value: object) -> float | None:
    """Seconds from a protobuf Duration string such as ``"2s"`` or ``"0.5s"``."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value)
    return float(match.group(1)) if match else None


def parse_answer(text: str, who: str = "Gemini") -> dict[str, Any]:
    """The answer's JSON object (a ```json fence is allowed), or UnusableAnswer."""
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        answer = json.loads(text)
    except ValueError:
        raise UnusableAnswer(f"{who}'s answer is not valid JSON") from None
    if not isinstance(answer, dict):
        raise UnusableAnswer(f"{who}'s answer is JSON but not an object")
    return answer


def _norm(value: object) -> str:
    return " ".join(str(value).split()).casefold()


def _as_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def match_option(
    answer: Mapping[str, Any], options: Sequence[ActionOption], who: str = "Gemini"
) -> ActionOption:
    """The listed option the answer names, by number or by action and target; else
    UnusableAnswer. A number whose action contradicts the answer's action word does not count."""
    action = answer.get("action")
    action_word = _norm(action) if action not in (None, "") else None
    number = _as_number(answer.get("option"))
    if number is None and action_word is not None:
        number = _as_number(action_word)
        if number is not None:
            action_word = None
    if number is not None and 1 <= number <= len(options):
        chosen = options[number - 1]
        if action_word is None or action_word in (chosen.action.value, _norm(chosen.label)):
            return chosen
    if action_word is not None:
        by_label = [o for o in options if _norm(o.label) == action_word]
        if len(by_label) == 1:
            return by_label[0]
        same_action = [o for o in options if o.action.value == action_word]
        target = answer.get("target")
        if target in (None, "", "null", "none"):
            untargeted = [o for o in same_action if o.target is None]
            if len(untargeted) == 1:
                return untargeted[0]
            if len(same_action) == 1:
                return same_action[0]
        else:
            wanted = _norm(target)
            aimed = [
                o
                for o in same_action
                if wanted in {_norm(o.target or ""), _norm(o.target_name or "")}
            ]
            if len(aimed) == 1:
                return aimed[0]
    shown = action if action not in (None, "") else answer.get("option")
    raise UnusableAnswer(f"{who} chose an action not on the list ({str(shown)[:60]!r})")


def reasoning_of(answer: Mapping[str, Any], who: str = "Gemini") -> str:
    """The answer's one-line reason, trimmed to what a Decision holds."""
    reasoning = " ".join(str(answer.get("reasoning") or "").split())
    if not reasoning:
        raise UnusableAnswer(f"{who}'s answer gives no reasoning")
    if len(reasoning) > MAX_REASONING:
        reasoning = reasoning[: MAX_REASONING - 1].rstrip() + "…"
    return reasoning


def count_tokens(usage: object, *keys: str) -> int | None:
    """The sum of the integer counters ``keys`` of a usage object (None if it has none)."""
    if not isinstance(usage, dict):
        return None
    values = [usage.get(key) for key in keys]
    numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return sum(numbers) if numbers else None


def offline_fallback(
    context: DecisionContext,
    started: float,
    reason: str,
    *,
    prompt_hash: str | None = None,
    tokens_in: int | None = None,
    tokens_out: int | None = None,
) -> Decision:
    """The offline policy's decision, recording why a remote brain could not answer and what
    the failed call cost (``started`` is the ``time.perf_counter()`` of the decision)."""
    decision = decide_offline(context)
    provenance = decision.provenance.model_copy(
        update={
            "source": "offline",
            "latency_ms": (time.perf_counter() - started) * 1000,
            "tokens_in": tokens_in,
            "tokens_out": tokens_out,
            "prompt_hash": prompt_hash,
            "fallback_reason": reason,
        }
    )
    return decision.model_copy(update={"provenance": provenance})
