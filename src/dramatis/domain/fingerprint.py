"""The state hash: a fingerprint of the world after a turn and of what decided it.

``state_hash`` is the sha256 of the canonical JSON (sorted keys, no spaces) of the world after the
turn together with the decision-relevant fields of its ledger: every action (who, what, to whom,
why, the roll and its outcome, where the decision came from), the brief events that fired and the
tension before and after. The wall-clock fields of the ledger (``timestamp``,
``duration_seconds``) are left out, so a replay at another time hashes the same.

Every ``TurnAdvanced`` records it; ``dramatis replay --verify`` recomputes it turn by turn.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dramatis.domain.ledger import TurnLedger
from dramatis.domain.world import WorldState

LEDGER_CLOCK_FIELDS = frozenset({"timestamp", "duration_seconds"})
"""Ledger fields that say when and how long, not what: never part of the hash."""


def canonical_json(data: Any) -> str:
    """``data`` as canonical JSON: sorted keys, compact separators, UTF-8 kept as is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def state_document(world: WorldState, ledger: TurnLedger | None) -> dict[str, Any]:
    """What the hash covers, as a JSON-ready dict."""
    document: dict[str, Any] = {"world": world.model_dump(mode="json")}
    if ledger is not None:
        document["ledger"] = ledger.model_dump(mode="json", exclude=set(LEDGER_CLOCK_FIELDS))
    return document


def state_hash(world: WorldState, ledger: TurnLedger | None = None) -> str:
    """The sha256 (hex) of the world after a turn and the turn's decision-relevant ledger."""
    text = canonical_json(state_document(world, ledger))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
