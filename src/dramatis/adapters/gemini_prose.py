"""Chapter prose from Gemini: a ChapterProse that asks ``generateContent`` to tell one chapter
of the chronicle from the ledger facts of its turns.

It rides on a GeminiBrain: the same connection pool, retries, backoff and circuit breaker, so a
Gemini outage seen by the personas also keeps the chronicler offline (and the other way round).
Any failure (a call that gives up, a block, an empty answer, an open circuit) is ``None``: the
chronicle service then keeps the offline chapter. The API key never leaves the brain.
"""

from __future__ import annotations

import logging
from typing import Any

from dramatis.adapters.gemini import GeminiBrain, answer_text
from dramatis.adapters.llm_common import CallError, UnusableAnswer, count_tokens, encode_body
from dramatis.ports import ChapterRequest, ProseResult

logger = logging.getLogger(__name__)

PROSE_RULES = (
    "You are the chronicler of a turn-based story. Write one chapter of the chronicle in "
    "markdown prose from the ledger facts you are given, in the chronicler's voice and style. "
    "Tell only what the facts say: who acted, what they did, to whom, where, how it turned out "
    "and what followed; a character's reason may become a line of dialogue. Give the chapter an "
    "opening that sets place and stakes, a rising middle and a close with a consequence and a "
    "hook. Use the names as given. No title heading, no HTML, no lists, no commentary about the "
    "task. End with the citation line exactly as given, on its own line."
)


def describe_request(request: ChapterRequest) -> str:
    """The user prompt: the campaign, the cast, the places and the facts of each turn."""
    lines = [
        f"Campaign: {request.campaign_name}",
        f"Chapter {request.number}: {request.title}",
    ]
    if request.description:
        lines.append(f"About the campaign: {request.description}")
    lines.append(f"Characters: {', '.join(request.names) or 'none named'}")
    lines.append(f"Places: {', '.join(request.places) or 'none named'}")
    lines.append("")
    lines.append("Ledger of the chapter's turns:")
    lines.extend(request.turns)
    lines.append("")
    lines.append(f"Citation line to end with: {request.citation}")
    return "\n".join(lines)


def build_prose_request(
    request: ChapterRequest,
    *,
    temperature: float,
    max_output_tokens: int,
    thinking_budget: int | None,
) -> dict[str, Any]:
    """The ``generateContent`` request body for one chapter."""
    voice = f"The chronicler is {request.chronicler}; the style is {request.style}"
    voice += f" ({request.style_voice})." if request.style_voice else "."
    generation: dict[str, Any] = {
        "responseMimeType": "text/plain",
        "temperature": temperature,
        "maxOutputTokens": max_output_tokens,
        "candidateCount": 1,
    }
    if thinking_budget is not None:
        generation["thinkingConfig"] = {"thinkingBudget": thinking_budget}
    return {
        "systemInstruction": {"parts": [{"text": f"{PROSE_RULES}\n\n{voice}"}]},
        "contents": [{"role": "user", "parts": [{"text": describe_request(request)}]}],
        "generationConfig": generation,
    }


class GeminiChapterProse:
    """A ChapterProse backed by a GeminiBrain's client, retries and circuit breaker."""

    name = "Gemini"

    def __init__(
        self,
        brain: GeminiBrain,
        *,
        temperature: float = 0.8,
        max_output_tokens: int = 4096,
    ) -> None:
        self.brain = brain
        self.temperature = temperature
        self.max_output_tokens = max_output_tokens

    @property
    def model(self) -> str:
        return self.brain.model

    def __repr__(self) -> str:
        return f"GeminiChapterProse(model={self.brain.model!r})"

    async def write_chapter(self, request: ChapterRequest) -> ProseResult | None:
        body = encode_body(
            build_prose_request(
                request,
                temperature=self.temperature,
                max_output_tokens=self.max_output_tokens,
                thinking_budget=self.brain.thinking_budget,
            )
        )
        try:
            response = await self.brain.generate(body)
            text = answer_text(response)
        except (CallError, UnusableAnswer) as exc:
            logger.warning(
                "gemini chapter %d fell back to the offline chronicler: %s",
                request.number,
                self.brain.redact(exc.reason),
            )
            return None
        usage = response.get("usageMetadata")
        model = response.get("modelVersion")
        return ProseResult(
            markdown=text,
            model=model if isinstance(model, str) and model else self.brain.model,
            tokens_in=count_tokens(usage, "promptTokenCount"),
            tokens_out=count_tokens(usage, "candidatesTokenCount", "thoughtsTokenCount"),
        )
