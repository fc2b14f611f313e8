"""Human-controlled personas: a brain that waits for the player's choice, with a timeout.

The TUI (or an SSH session) watches ``pending`` for personas awaiting a choice and answers with
``choose``. If nobody answers within the timeout, the persona's offline fallback policy acts and the
decision records why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from dramatis.domain.context import DecisionContext
from dramatis.domain.ledger import Decision, Provenance
from dramatis.engine.policy import decide_offline


@dataclass(frozen=True)
class PendingChoice:
    """A persona waiting for its player: the context it was given and its options."""

    persona_id: str
    context: DecisionContext
    timeout_seconds: float


class HumanBrain:
    """PersonaBrain for ``brain = "human"``: asks the player, falls back on timeout."""

    name = "human"

    def __init__(
        self,
        timeout_seconds: float = 60.0,
        on_pending: Callable[[PendingChoice], None] | None = None,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.on_pending = on_pending
        self._waiting: dict[str, tuple[PendingChoice, asyncio.Future[Decision]]] = {}

    @property
    def pending(self) -> list[PendingChoice]:
        """Personas currently waiting for a choice."""
        return [choice for choice, _ in self._waiting.values()]

    async def decide(self, context: DecisionContext) -> Decision:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Decision] = loop.create_future()
        choice = PendingChoice(context.persona_id, context, self.timeout_seconds)
        self._waiting[context.persona_id] = (choice, future)
        if self.on_pending is not None:
            self.on_pending(choice)
        started = loop.time()
        try:
            decision = await asyncio.wait_for(future, self.timeout_seconds)
        except TimeoutError:
            fallback = decide_offline(context)
            reason = f"no choice within {self.timeout_seconds:g} s; the fallback policy acted"
            return fallback.model_copy(
                update={"provenance": Provenance(source="offline", fallback_reason=reason)}
            )
        finally:
            self._waiting.pop(context.persona_id, None)
        latency_ms = (loop.time() - started) * 1000
        return decision.model_copy(
            update={"provenance": Provenance(source="human", latency_ms=latency_ms)}
        )

    def choose(self, persona_id: str, option_index: int, reasoning: str = "") -> Decision:
        """Answer a waiting persona with one of its options (0-based index)."""
        entry = self._waiting.get(persona_id)
        if entry is None:
            raise LookupError(f"persona {persona_id!r} is not waiting for a choice")
        choice, future = entry
        options = choice.context.options
        if not 0 <= option_index < len(options):
            raise IndexError(f"choose an option from 1 to {len(options)}")
        option = options[option_index]
        name = choice.context.names.get(persona_id, "The player")
        decision = Decision(
            action=option.action,
            target=option.target,
            reasoning=reasoning.strip() or f"{name} chose to {option.label}.",
            provenance=Provenance(source="human"),
        )
        if not future.done():
            future.set_result(decision)
        return decision
