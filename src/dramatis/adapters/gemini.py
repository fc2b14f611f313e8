"""The Gemini brain: a PersonaBrain that asks Google's Gemini API (``generateContent``) what a
persona does, and falls back to the offline policy whenever Gemini cannot give a usable answer.

One pooled ``httpx.AsyncClient`` per brain. The request carries the persona in
``systemInstruction`` and the perceived world (place, people, trust, what the persona saw and
knows, its numbered options) in ``contents``; ``generationConfig`` asks for JSON that follows a
schema for ``{option, action, target, reasoning}``.

Failures degrade, they never fail a turn:
- 408, 429, 500, 502, 503, 504 and transport errors (timeouts, refused or dropped connections) are
  retried with exponential backoff and full jitter; a 429's ``RetryInfo.retryDelay`` (or a
  ``Retry-After`` header) is waited out when it is within ``retry_delay_cap`` and ends the retries
  when it is longer; a daily-quota 429 is never retried;
- 400, 403, 404 and other statuses are not retried;
- after the last try, on a safety block, on MAX_TOKENS with no text, on an answer that is not JSON
  or that names an action not on the list, the offline policy decides and the decision's
  provenance says ``source="offline"`` with the reason;
- a circuit breaker stops calling Gemini for ``breaker_cooldown`` seconds after
  ``breaker_threshold`` consecutive call failures (a daily-quota 429 opens it at once); decisions
  meanwhile go offline with the reason ``"circuit open"``.

The API key travels only in the ``x-goog-api-key`` header: it is never in the URL, the prompt
hash, a log line, a fallback reason or ``repr(brain)``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from dramatis.adapters.llm_common import (  # noqa: F401  (re-exported: the brain's public API)
    MAX_REASONING,
    RETRYABLE_STATUSES,
    Backoff,
    CallError,
    CircuitBreaker,
    DailyQuotaExhausted,
    RetryableCallError,
    UnusableAnswer,
    call_with_retries,
    count_tokens,
    encode_body,
    guarded,
    match_option,
    offline_fallback,
    parse_answer,
    parse_duration,
    reasoning_of,
)
from dramatis.domain.context import ActionOption, DecisionContext
from dramatis.domain.ledger import Decision, Provenance
from dramatis.engine.director import describe_context

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_MODEL = "gemini-2.5-flash"

BLOCKING_FINISH_REASONS = frozenset(
    {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY"}
)
GeminiCallError = CallError  # the name this module used before the shared machinery moved out

SYSTEM_RULES = (
    "You are playing one character in a turn-based story. Stay in character. Each turn you are "
    "shown what your character perceives and a numbered list of the actions open to them. Choose "
    "exactly one of those actions. Answer with JSON only: the option number, its action word, its "
    "target (or null) and one sentence of reasoning in your character's own voice."
)


# ------------------------------------------------------------------ request building


def response_schema(options: Sequence[ActionOption]) -> dict[str, Any]:
    """The JSON schema (Gemini's OpenAPI subset) the answer must follow."""
    actions = sorted({option.action.value for option in options})
    return {
        "type": "OBJECT",
        "properties": {
            "option": {
                "type": "INTEGER",
                "description": "the number of the chosen option in the list",
            },
            "action": {
                "type": "STRING",
                "enum": actions,
                "description": "the chosen option's action word",
            },
            "target": {
                "type": "STRING",
                "nullable": True,
                "description": "who or where the action is aimed at, or null",
            },
            "reasoning": {
                "type": "STRING",
                "description": "one sentence, in the character's own voice",
            },
        },
        "required": ["option", "action", "reasoning"],
        "propertyOrdering": ["option", "action", "target", "reasoning"],
    }


def split_prompt(context: DecisionContext) -> tuple[str, str]:
    """(persona, world): the persona's sheet for ``systemInstruction``, the rest for the prompt.

    ``describe_context`` opens with one paragraph about the persona (name, summary, personality,
    weights, goals, fears, voice); everything after the first blank line is what it perceives.
    """
    text = describe_context(context)
    persona, separator, world = text.partition("\n\n")
    if not separator:
        return "", text
    return persona, world


def build_request(
    context: DecisionContext,
    *,
    temperature: float,
    max_output_tokens: int,
    thinking_budget: int | None,
) -> dict[str, Any]:
    """The ``generateContent`` request body for one persona's decision."""
    persona, world = split_prompt(context)
    generation: dict[str, Any] = {
        "responseMimeType": "application/json",
        "responseSchema": response_schema(context.options),
        "temperature": temperature,
        "maxOutputTokens": max_output_tokens,
        "candidateCount": 1,
    }
    if thinking_budget is not None:
        generation["thinkingConfig"] = {"thinkingBudget": thinking_budget}
    system = f"{SYSTEM_RULES}\n\n{persona}" if persona else SYSTEM_RULES
    return {
        "systemInstruction": {"parts": [{"text": system}]},
        "contents": [{"role": "user", "parts": [{"text": world}]}],
        "generationConfig": generation,
    }


# ------------------------------------------------------------------ response reading


def error_details(payload: object) -> tuple[str, str, list[dict[str, Any]]]:
    """(status, message, details) of a Google API error body; blanks when it is not one."""
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
        return "", "", []
    error = payload["error"]
    details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    return str(error.get("status") or ""), str(error.get("message") or ""), details


def retry_delay_of(details: Sequence[Mapping[str, Any]]) -> float | None:
    """The server's RetryInfo.retryDelay in seconds, if it sent one."""
    for detail in details:
        if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            return parse_duration(detail.get("retryDelay"))
    return None


def is_daily_quota(message: str, details: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a 429 is about a per-day quota (retrying before tomorrow cannot help)."""
    for detail in details:
        if not str(detail.get("@type", "")).endswith("google.rpc.QuotaFailure"):
            continue
        for violation in detail.get("violations") or []:
            if not isinstance(violation, dict):
                continue
            quota = f"{violation.get('quotaId', '')} {violation.get('quotaMetric', '')}"
            if "perday" in quota.lower().replace("_", "").replace("-", ""):
                return True
    return "per day" in message.lower() or "daily" in message.lower()


def answer_text(response: Mapping[str, Any]) -> str:
    """The model's answer text, or UnusableAnswer for a block, a truncation or nothing."""
    feedback = response.get("promptFeedback") or {}
    block = feedback.get("blockReason") if isinstance(feedback, dict) else None
    if block:
        raise UnusableAnswer(f"prompt blocked by Gemini (blockReason {block})")
    candidates = response.get("candidates") or []
    if not candidates or not isinstance(candidates[0], dict):
        raise UnusableAnswer("Gemini returned no candidates")
    candidate = candidates[0]
    finish = str(candidate.get("finishReason") or "")
    if finish in BLOCKING_FINISH_REASONS:
        raise UnusableAnswer(f"answer blocked by Gemini (finishReason {finish})")
    content = candidate.get("content") or {}
    parts = (content.get("parts") or []) if isinstance(content, dict) else []
    text = "".join(
        str(part.get("text", ""))
        for part in parts
        if isinstance(part, dict) and not part.get("thought")
    )
    if not text.strip():
        if finish == "MAX_TOKENS":
            raise UnusableAnswer("Gemini hit MAX_TOKENS before writing an answer")
        raise UnusableAnswer(f"Gemini returned an empty answer (finishReason {finish or 'none'})")
    return text


# ------------------------------------------------------------------ the brain


class GeminiBrain:
    """A PersonaBrain backed by Gemini's REST API, degrading to the offline policy."""

    name = "gemini"

    def __init__(
        self,
        api_key: SecretStr | str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        model: str = DEFAULT_MODEL,
        timeout_seconds: float = 20.0,
        temperature: float = 0.9,
        max_output_tokens: int = 1024,
        thinking_budget: int | None = 0,
        max_attempts: int = 4,
        backoff_base_seconds: float = 0.5,
        backoff_max_seconds: float = 8.0,
        retry_delay_cap_seconds: float = 30.0,
        breaker_threshold: int = 5,
        breaker_cooldown_seconds: float = 60.0,
        max_connections: int = 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        if not key.get_secret_value():
            raise ValueError("the Gemini brain needs an API key")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.model = model.removeprefix("models/")
        self.url = f"{self.base_url}/v1beta/models/{self.model}:generateContent"
        self.temperature = temperature
        self.max_output_tokens = max_output_tokens
        self.thinking_budget = thinking_budget
        self.max_attempts = max_attempts
        self.backoff_base_seconds = backoff_base_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.retry_delay_cap_seconds = retry_delay_cap_seconds
        self.breaker = CircuitBreaker(breaker_threshold, breaker_cooldown_seconds, clock)
        self._backoff = Backoff(backoff_base_seconds, backoff_max_seconds, retry_delay_cap_seconds)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={"content-type": "application/json", "accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"GeminiBrain(model={self.model!r}, base_url={self.base_url!r})"

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()

    async def __aenter__(self) -> GeminiBrain:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -------------------------------------------------------------- deciding

    async def decide(self, context: DecisionContext) -> Decision:
        started = time.perf_counter()
        if not self.breaker.allow():
            return self._fallback(context, started, "circuit open")
        body = encode_body(
            build_request(
                context,
                temperature=self.temperature,
                max_output_tokens=self.max_output_tokens,
                thinking_budget=self.thinking_budget,
            )
        )
        prompt_hash = hashlib.sha256(body).hexdigest()
        try:
            response = await self._post_with_retries(body)
        except DailyQuotaExhausted as exc:
            self.breaker.trip()
            return self._fallback(context, started, exc.reason, prompt_hash=prompt_hash)
        except GeminiCallError as exc:
            self.breaker.record_failure()
            return self._fallback(context, started, exc.reason, prompt_hash=prompt_hash)
        self.breaker.record_success()
        usage = response.get("usageMetadata")
        tokens_in = count_tokens(usage, "promptTokenCount")
        tokens_out = count_tokens(usage, "candidatesTokenCount", "thoughtsTokenCount")
        try:
            answer = parse_answer(answer_text(response))
            option = match_option(answer, context.options)
            reasoning = reasoning_of(answer)
        except UnusableAnswer as exc:
            return self._fallback(
                context,
                started,
                exc.reason,
                prompt_hash=prompt_hash,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
            )
        model = response.get("modelVersion")
        return Decision(
            action=option.action,
            target=option.target,
            reasoning=reasoning,
            provenance=Provenance(
                source="gemini",
                model=model if isinstance(model, str) and model else self.model,
                latency_ms=(time.perf_counter() - started) * 1000,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                prompt_hash=prompt_hash,
            ),
        )

    def _fallback(
        self,
        context: DecisionContext,
        started: float,
        reason: str,
        *,
        prompt_hash: str | None = None,
        tokens_in: int | None = None,
        tokens_out: int | None = None,
    ) -> Decision:
        reason = self._redact(reason)
        logger.warning("gemini fell back to the offline policy: %s", reason)
        return offline_fallback(
            context,
            started,
            reason,
            prompt_hash=prompt_hash,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
        )

    # -------------------------------------------------------------- HTTP

    async def generate(self, body: bytes) -> dict[str, Any]:
        """One ``generateContent`` call with ``body`` through the circuit breaker and the
        retries: the response object, or CallError (its ``reason`` is safe to record).

        The chapter prose adapter shares this brain's connection pool, retries and breaker
        through this method, so an outage seen by one is respected by the other.
        """
        return await guarded(self.breaker, lambda: self._post_with_retries(body))

    async def _post_with_retries(self, body: bytes) -> dict[str, Any]:
        return await call_with_retries(
            lambda: self._post_once(body), max_attempts=self.max_attempts, wait=self._backoff
        )

    async def _post_once(self, body: bytes) -> dict[str, Any]:
        try:
            response = await self._client.post(
                self.url, content=body, headers={"x-goog-api-key": self._key.get_secret_value()}
            )
        except httpx.TimeoutException as exc:
            raise RetryableCallError(f"Gemini timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise RetryableCallError(f"Gemini connection failed ({type(exc).__name__})") from None
        status = response.status_code
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        if status == 200:
            if not isinstance(payload, dict):
                raise GeminiCallError("Gemini sent a response that is not a JSON object")
            return payload
        error_status, message, details = error_details(payload)
        label = f"HTTP {status}" + (f" {error_status}" if error_status else "")
        if status in RETRYABLE_STATUSES:
            if status == 429 and is_daily_quota(message, details):
                raise DailyQuotaExhausted(f"{label}: daily quota exhausted")
            delay = retry_delay_of(details)
            if delay is None:
                delay = parse_duration(f"{response.headers.get('retry-after', '')}s")
            if delay is not None and delay > self.retry_delay_cap_seconds:
                raise GeminiCallError(
                    f"{label}: Gemini asks to wait {delay:g}s, "
                    f"more than the {self.retry_delay_cap_seconds:g}s cap"
                )
            raise RetryableCallError(label, retry_after=delay)
        detail = f": {' '.join(message.split())[:160]}" if message else ""
        raise GeminiCallError(f"{label}{detail}")

    def redact(self, text: str) -> str:
        """``text`` with the API key masked (for anything that may be logged or recorded)."""
        return self._redact(text)

    def _redact(self, text: str) -> str:
        secret = self._key.get_secret_value()
        return text.replace(secret, "***") if secret else text
