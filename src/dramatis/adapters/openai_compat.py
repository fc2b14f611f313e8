"""An OpenAI-compatible brain: a PersonaBrain that asks any server speaking the OpenAI chat
completions API (``POST {base_url}/chat/completions``) what a persona does. With a local model
server (llama.cpp, Ollama, vLLM, LM Studio, ...) this makes fully local AI play possible.

The prompt is the Gemini brain's: the persona in the system message, the perceived world and the
numbered options in the user message. The answer is asked for as JSON following a schema
(``response_format: json_schema``); a server that rejects that with a 400 is asked again with
``response_format: json_object`` and is not offered the schema again.

Failures degrade exactly as the Gemini brain's do: 408, 429, 5xx and transport errors are
retried with backoff (a ``Retry-After`` header is honoured up to a cap); other statuses are not;
after the last try, on an empty, truncated or invalid answer, or while the circuit breaker is
open, the offline policy decides and the provenance says ``source="offline"`` with the reason.
The optional API key travels only in the ``Authorization`` header.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from dramatis.adapters.gemini import SYSTEM_RULES, split_prompt
from dramatis.adapters.llm_common import (
    RETRYABLE_STATUSES,
    Backoff,
    CallError,
    CircuitBreaker,
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

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"
WHO = "the model"


class SchemaUnsupported(CallError):
    """The server refused ``response_format: json_schema`` (a 400 naming it)."""


def decision_schema(options: Sequence[ActionOption]) -> dict[str, Any]:
    """The JSON schema (standard JSON Schema, strict-mode friendly) the answer must follow."""
    actions = sorted({option.action.value for option in options})
    return {
        "type": "object",
        "properties": {
            "option": {"type": "integer", "description": "the chosen option's number"},
            "action": {"type": "string", "enum": actions},
            "target": {"type": ["string", "null"], "description": "who or where, or null"},
            "reasoning": {"type": "string", "description": "one sentence, in character"},
        },
        "required": ["option", "action", "target", "reasoning"],
        "additionalProperties": False,
    }


def build_chat_request(
    context: DecisionContext,
    *,
    model: str,
    temperature: float,
    max_tokens: int,
    use_schema: bool,
) -> dict[str, Any]:
    """The ``chat/completions`` request body for one persona's decision."""
    persona, world = split_prompt(context)
    system = f"{SYSTEM_RULES}\n\n{persona}" if persona else SYSTEM_RULES
    response_format: dict[str, Any] = (
        {
            "type": "json_schema",
            "json_schema": {
                "name": "decision",
                "strict": True,
                "schema": decision_schema(context.options),
            },
        }
        if use_schema
        else {"type": "json_object"}
    )
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": world},
        ],
        "temperature": temperature,
        "max_tokens": max_tokens,
        "n": 1,
        "response_format": response_format,
    }


def error_message(payload: object) -> str:
    """The ``error.message`` of an OpenAI-style error body (blank when it is not one)."""
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            return " ".join(str(error.get("message") or "").split())
        if isinstance(error, str):
            return " ".join(error.split())
    return ""


def message_text(response: Mapping[str, Any]) -> str:
    """``choices[0].message.content``, or UnusableAnswer for a refusal, truncation or nothing."""
    choices = response.get("choices") or []
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise UnusableAnswer("the model returned no choices")
    choice = choices[0]
    message = choice.get("message") or {}
    if not isinstance(message, dict):
        raise UnusableAnswer("the model returned no message")
    if message.get("refusal"):
        raise UnusableAnswer("the model refused to answer")
    content = message.get("content")
    finish = str(choice.get("finish_reason") or "")
    if not isinstance(content, str) or not content.strip():
        if finish == "length":
            raise UnusableAnswer("the model hit its token limit before writing an answer")
        raise UnusableAnswer(
            f"the model returned an empty answer (finish_reason {finish or 'none'})"
        )
    return content


class OpenAICompatBrain:
    """A PersonaBrain backed by an OpenAI-compatible chat completions server."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        *,
        api_key: SecretStr | str | None = None,
        model: str = DEFAULT_MODEL,
        timeout_seconds: float = 60.0,
        temperature: float = 0.9,
        max_tokens: int = 512,
        max_attempts: int = 3,
        backoff_base_seconds: float = 0.5,
        backoff_max_seconds: float = 8.0,
        retry_delay_cap_seconds: float = 30.0,
        breaker_threshold: int = 5,
        breaker_cooldown_seconds: float = 60.0,
        max_connections: int = 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not base_url.strip():
            raise ValueError("the OpenAI-compatible brain needs a base URL")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        key = api_key if isinstance(api_key, SecretStr) or api_key is None else SecretStr(api_key)
        self._key = key if key is not None and key.get_secret_value() else None
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.max_attempts = max_attempts
        self.retry_delay_cap_seconds = retry_delay_cap_seconds
        self.use_schema = True  # set off once the server refuses json_schema
        self.breaker = CircuitBreaker(breaker_threshold, breaker_cooldown_seconds, clock)
        self._backoff = Backoff(backoff_base_seconds, backoff_max_seconds, retry_delay_cap_seconds)
        headers = {"content-type": "application/json", "accept": "application/json"}
        if self._key is not None:
            headers["authorization"] = f"Bearer {self._key.get_secret_value()}"
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers=headers,
        )

    def __repr__(self) -> str:
        return f"OpenAICompatBrain(model={self.model!r}, base_url={self.base_url!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> OpenAICompatBrain:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def decide(self, context: DecisionContext) -> Decision:
        started = time.perf_counter()
        prompt_hash: str | None = None
        try:
            try:
                body = self._body(context)
                prompt_hash = hashlib.sha256(body).hexdigest()
                response = await guarded(self.breaker, lambda: self._post(body))
            except SchemaUnsupported:
                self.use_schema = False
                body = self._body(context)
                prompt_hash = hashlib.sha256(body).hexdigest()
                response = await guarded(self.breaker, lambda: self._post(body))
        except CallError as exc:
            hashed = None if exc.reason == "circuit open" else prompt_hash
            return self._fallback(context, started, exc.reason, prompt_hash=hashed)
        usage = response.get("usage")
        tokens_in = count_tokens(usage, "prompt_tokens")
        tokens_out = count_tokens(usage, "completion_tokens")
        try:
            answer = parse_answer(message_text(response), WHO)
            option = match_option(answer, context.options, WHO)
            reasoning = reasoning_of(answer, WHO)
        except UnusableAnswer as exc:
            return self._fallback(
                context,
                started,
                exc.reason,
                prompt_hash=prompt_hash,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
            )
        model = response.get("model")
        return Decision(
            action=option.action,
            target=option.target,
            reasoning=reasoning,
            provenance=Provenance(
                source="openai",
                model=model if isinstance(model, str) and model else self.model,
                latency_ms=(time.perf_counter() - started) * 1000,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                prompt_hash=prompt_hash,
            ),
        )

    def _body(self, context: DecisionContext) -> bytes:
        return encode_body(
            build_chat_request(
                context,
                model=self.model,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                use_schema=self.use_schema,
            )
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
        logger.warning("openai-compatible brain fell back to the offline policy: %s", reason)
        return offline_fallback(
            context,
            started,
            reason,
            prompt_hash=prompt_hash,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
        )

    async def _post(self, body: bytes) -> dict[str, Any]:
        return await call_with_retries(
            lambda: self._post_once(body), max_attempts=self.max_attempts, wait=self._backoff
        )

    async def _post_once(self, body: bytes) -> dict[str, Any]:
        try:
            response = await self._client.post(self.url, content=body)
        except httpx.TimeoutException as exc:
            raise RetryableCallError(f"the model server timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise RetryableCallError(
                f"the model server connection failed ({type(exc).__name__})"
            ) from None
        status = response.status_code
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        if status == 200:
            if not isinstance(payload, dict):
                raise CallError("the model server sent a response that is not a JSON object")
            return payload
        message = error_message(payload)
        label = f"HTTP {status}"
        if status in RETRYABLE_STATUSES:
            delay = parse_duration(f"{response.headers.get('retry-after', '')}s")
            if delay is not None and delay > self.retry_delay_cap_seconds:
                raise CallError(
                    f"{label}: the model server asks to wait {delay:g}s, "
                    f"more than the {self.retry_delay_cap_seconds:g}s cap"
                )
            raise RetryableCallError(label, retry_after=delay)
        if status == 400 and self.use_schema and _names_schema(message):
            raise SchemaUnsupported(f"{label}: json_schema response format not supported")
        detail = f": {message[:160]}" if message else ""
        raise CallError(f"{label}{detail}")

    def _redact(self, text: str) -> str:
        if self._key is None:
            return text
        return text.replace(self._key.get_secret_value(), "***")


def _names_schema(message: str) -> bool:
    lowered = message.lower()
    return "response_format" in lowered or "json_schema" in lowered
