"""Calling persona brains for a turn: the prompt cache, the call budget, the concurrency bound,
and the decision statistics read back from the recorded decisions.

``DecisionRouter.decide`` is what the campaign service calls for each persona of a turn:

- a brain kind with no brain configured falls back to the offline policy (reason recorded);
- ``offline`` and ``human`` brains are asked directly: they are cheap or are a person, never cached;
- any other brain (gemini, openai-compatible, ...) is a *remote* brain: the router looks the
  prompt up in the cache first (a hit is recorded with source ``cache``), then spends one call of
  the campaign's budget (when the budget is spent the persona falls back), then calls the brain
  inside a semaphore that bounds how many calls run at once, and caches a real answer.

A brain that raises is treated like a failed call: the persona falls back, the turn goes on.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dramatis.domain.context import DecisionContext
from dramatis.domain.ledger import Decision, Provenance
from dramatis.engine.director import describe_context
from dramatis.engine.policy import decide_offline
from dramatis.ports import CacheKey, Clock, PersonaBrain, PromptCache
from dramatis.services.views import DecisionStats

LOCAL_BRAINS = frozenset({"offline", "human"})
BUDGET_SPENT = "the campaign's call budget is spent"


def not_configured(brain_kind: str) -> str:
    """The fallback reason when a persona's brain kind has no brain in this process."""
    if brain_kind == "human":
        return "no player at the keyboard"
    return f"{brain_kind} brain not configured"


def is_remote(brain_kind: str) -> bool:
    """True for brains that cost a call (and so are cached and budgeted)."""
    return brain_kind not in LOCAL_BRAINS


def prompt_hash(context: DecisionContext, brain_name: str, model: str | None) -> str:
    """sha256 of the prompt text the brain is shown, the brain's name and its model."""
    text = "\n".join((describe_context(context), f"brain:{brain_name}", f"model:{model or ''}"))
    return hashlib.sha256(text.encode()).hexdigest()


def with_fallback(decision: Decision, reason: str, *, prompt: str | None = None) -> Decision:
    """``decision`` (from the offline policy) marked as a fallback for ``reason``."""
    provenance = Provenance(
        source="offline",
        latency_ms=decision.provenance.latency_ms,
        prompt_hash=prompt,
        fallback_reason=reason,
    )
    return decision.model_copy(update={"provenance": provenance})


class CallBudget:
    """How many remote brain calls a campaign may still make.

    ``used`` counts calls made before (read back from recorded decisions); ``told`` is True once
    the player has been told that the budget is spent, so they are told only once.
    """

    def __init__(self, limit: int, *, used: int = 0, told: bool = False) -> None:
        if limit < 0:
            raise ValueError(f"a call budget cannot be negative ({limit})")
        self.limit = limit
        self.used = used
        self.told = told
        self.refused = 0  # calls refused since this budget was loaded

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def try_spend(self) -> bool:
        """Take one call from the budget; False (and nothing taken) when it is spent."""
        if self.used >= self.limit:
            self.refused += 1
            return False
        self.used += 1
        return True

    def take_notice(self) -> str | None:
        """The message for the player the first time a persona fell back for the budget."""
        if self.told or self.refused == 0:
            return None
        self.told = True
        return (
            f"The call budget of {self.limit} brain call{'s' if self.limit != 1 else ''} for this "
            "campaign is spent; personas now act on their offline fallback policy."
        )


@dataclass
class RouterCounters:
    """What the router did in this process (the persisted totals are in ``DecisionStats``)."""

    calls: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_errors: int = 0
    budget_refusals: int = 0
    brain_errors: int = 0


class DecisionRouter:
    """Asks the right brain for each persona, through the cache and within the budget."""

    def __init__(
        self,
        brains: Mapping[str, PersonaBrain],
        *,
        clock: Clock,
        cache: PromptCache | None = None,
        max_concurrent: int = 8,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, not {max_concurrent}")
        self.brains = brains  # looked up on every call: callers may swap brains in place
        self.cache = cache
        self.clock = clock
        self.max_concurrent = max_concurrent
        self.counters = RouterCounters()
        self._slots = asyncio.Semaphore(max_concurrent)

    async def decide(
        self,
        brain_kind: str,
        context: DecisionContext,
        budget: CallBudget | None = None,
        *,
        use_cache: bool = True,
    ) -> Decision:
        """``use_cache`` False bypasses the prompt cache (no lookup, no store)."""
        brain = self.brains.get(brain_kind)
        if brain is None:
            return with_fallback(decide_offline(context), not_configured(brain_kind))
        if not is_remote(brain_kind):
            return await brain.decide(context)
        model = getattr(brain, "model", None)
        model = model if isinstance(model, str) else None
        digest = prompt_hash(context, getattr(brain, "name", brain_kind), model)
        key = CacheKey(context.tenant_id, context.persona_id, context.turn, digest)
        hit = await self._lookup(key, model) if use_cache else None
        if hit is not None:
            return hit
        if budget is not None and not budget.try_spend():
            self.counters.budget_refusals += 1
            return with_fallback(decide_offline(context), BUDGET_SPENT)  # no prompt was sent
        async with self._slots:
            self.counters.calls += 1
            try:
                decision = await brain.decide(context)
            except Exception as exc:  # a brain bug or outage must not cost the turn
                self.counters.brain_errors += 1
                reason = f"{brain_kind} brain failed ({type(exc).__name__})"
                return with_fallback(decide_offline(context), reason, prompt=digest)
        if decision.provenance.source in ("offline", "cache", "human"):
            # A fallback keeps the brain's own account: it carries a prompt hash exactly when a
            # prompt was sent (none when, say, the brain's circuit breaker is open).
            return decision
        if decision.provenance.prompt_hash is None:
            # The brain did not say what it sent; record the prompt the cache is keyed by.
            provenance = decision.provenance.model_copy(update={"prompt_hash": digest})
            decision = decision.model_copy(update={"provenance": provenance})
        if use_cache:
            await self._store(key, decision)
        return decision

    async def _lookup(self, key: CacheKey, model: str | None) -> Decision | None:
        if self.cache is None:
            return None
        started = self.clock.monotonic()
        try:
            cached = await self.cache.get(key)
        except Exception:  # a cache adapter that breaks its contract is a miss, not a crash
            self.counters.cache_errors += 1
            return None
        if cached is None:
            self.counters.cache_misses += 1
            return None
        self.counters.cache_hits += 1
        provenance = Provenance(
            source="cache",
            model=cached.provenance.model or model,
            latency_ms=max(0.0, (self.clock.monotonic() - started) * 1000),
            prompt_hash=cached.provenance.prompt_hash or key.prompt_hash,
        )
        return cached.model_copy(update={"provenance": provenance})

    async def _store(self, key: CacheKey, decision: Decision) -> None:
        if self.cache is None:
            return
        try:
            await self.cache.put(key, decision)
        except Exception:
            self.counters.cache_errors += 1


# ---------------------------------------------------------------- statistics


def _made_a_call(brain_kind: str, provenance: Provenance) -> bool:
    """Whether a recorded decision cost a remote brain call (answered or failed).

    A remote answer is a call. A fallback is a call when a prompt was sent, which its prompt
    hash records: budget fallbacks, unconfigured brains, open circuit breakers and turns played
    offline on purpose carry none.
    """
    if not is_remote(brain_kind) or provenance.source == "cache":
        return False
    if provenance.source != "offline":
        return True
    return provenance.fallback_reason is not None and provenance.prompt_hash is not None


def tally(brain_kind: str, decisions: Iterable[Decision]) -> DecisionStats:
    """Totals over one persona's recorded decisions, made with brain ``brain_kind``."""
    decided = calls = hits = tokens_in = tokens_out = 0
    sources: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for decision in decisions:
        p = decision.provenance
        decided += 1
        sources[p.source] += 1
        if p.source == "cache":
            hits += 1
        elif _made_a_call(brain_kind, p):
            calls += 1
            tokens_in += p.tokens_in or 0
            tokens_out += p.tokens_out or 0
        if p.fallback_reason:
            reasons[p.fallback_reason] += 1
    return _stats(decided, calls, hits, tokens_in, tokens_out, sources, reasons)


def combine(parts: Iterable[DecisionStats]) -> DecisionStats:
    """The sum of several personas' totals."""
    decided = calls = hits = tokens_in = tokens_out = 0
    sources: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for part in parts:
        decided += part.decisions
        calls += part.calls
        hits += part.cache_hits
        tokens_in += part.tokens_in
        tokens_out += part.tokens_out
        sources.update(part.by_source)
        reasons.update(part.fallbacks_by_reason)
    return _stats(decided, calls, hits, tokens_in, tokens_out, sources, reasons)


def _stats(
    decided: int,
    calls: int,
    hits: int,
    tokens_in: int,
    tokens_out: int,
    sources: Counter[str],
    reasons: Counter[str],
) -> DecisionStats:
    lookups = hits + calls
    return DecisionStats(
        decisions=decided,
        calls=calls,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cache_hits=hits,
        cache_hit_rate=round(hits / lookups, 4) if lookups else None,
        fallbacks=sum(reasons.values()),
        fallbacks_by_reason=dict(sorted(reasons.items())),
        by_source=dict(sorted(sources.items())),
    )
