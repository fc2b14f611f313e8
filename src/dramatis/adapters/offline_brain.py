"""The offline brain: the engine's deterministic, in-character policy as a PersonaBrain."""

from __future__ import annotations

import time

from dramatis.domain.context import DecisionContext
from dramatis.domain.ledger import Decision
from dramatis.engine.policy import decide_offline


class OfflineBrain:
    """Decides with the offline policy; never fails, needs no network."""

    name = "offline"

    async def decide(self, context: DecisionContext) -> Decision:
        started = time.perf_counter()
        decision = decide_offline(context)
        latency_ms = (time.perf_counter() - started) * 1000
        return decision.model_copy(
            update={"provenance": decision.provenance.model_copy(update={"latency_ms": latency_ms})}
        )
