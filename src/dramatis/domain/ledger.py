"""Decisions and the immutable turn ledger."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dramatis.domain.actions import ActionKind

DecisionSource = Literal["offline", "gemini", "cache", "human", "openai"]
Outcome = Literal["success", "partial", "failure"]


class Provenance(BaseModel):
    """Where a decision came from and what it cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: DecisionSource = "offline"
    model: str | None = None
    latency_ms: float = 0.0
    tokens_in: int | None = None
    tokens_out: int | None = None
    prompt_hash: str | None = None
    fallback_reason: str | None = None


class Decision(BaseModel):
    """What a persona chose to do this turn, and why, in its own voice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: ActionKind
    target: str | None = None
    reasoning: str = Field(min_length=1, max_length=400)
    provenance: Provenance = Provenance()


class ActionEntry(BaseModel):
    """One persona's resolved action in the turn ledger."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    persona_id: str
    persona_name: str
    action: ActionKind
    target: str | None = None
    target_name: str | None = None  # display name of the target persona / location
    reasoning: str
    outcome: Outcome
    roll: int = Field(ge=1, le=20)
    location: str  # location id where the action happened
    consequence: str = ""  # short factual note, e.g. "found the wet rope"; "trust fell"
    source: DecisionSource = "offline"
    modifier: int = 0  # added to the natural roll (traits, stats, aid, wounds)
    difficulty: int = 0  # the number roll + modifier had to reach (0: no roll was needed)


class FiredEvent(BaseModel):
    """A brief event that fired this turn."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    text: str


class TurnLedger(BaseModel):
    """The immutable record of one resolved turn."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    turn_number: int = Field(ge=1)
    timestamp: str  # UTC ISO 8601
    action_log: tuple[ActionEntry, ...]
    duration_seconds: float = Field(ge=0.0)
    events: tuple[FiredEvent, ...] = ()
    tension_before: float = Field(default=0.0, ge=0.0, le=1.0)
    tension_after: float = Field(default=0.0, ge=0.0, le=1.0)
