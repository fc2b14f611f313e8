"""The canonical character sheet every import format is turned into, and its hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SheetFormat = Literal["toml", "markdown", "card_v2"]

# The decision weights the offline policy understands. Sheets may declare more; unknown weights are
# kept and shown, and the policy ignores them.
CORE_WEIGHTS = ("self_preservation", "loyalty", "relationships", "mission", "morality")


class CharacterSheet(BaseModel):
    """A persona's sheet in canonical form. Weights are 0..1 (a sheet's 7/10 becomes 0.7)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    summary: str = ""  # one or two sentences: who they are
    profile: str = ""  # longer description / background
    personality: tuple[str, ...] = ()  # traits, e.g. ("cautious", "dry-witted")
    decision_weights: dict[str, float] = Field(default_factory=dict)
    weights_inferred: bool = False  # True when the source had none and they were inferred
    goals: tuple[str, ...] = ()
    fears: tuple[str, ...] = ()
    speech: str = ""  # how they talk: a sample line or a note on voice
    stats: dict[str, int] = Field(default_factory=dict)  # e.g. {"wits": 3, "nerve": 2}; 1..5
    scenario: str = ""
    fallback_policy: str = "offline"
    source_format: SheetFormat = "toml"
    extensions: dict[str, Any] = Field(default_factory=dict)  # Card V2 extensions, kept verbatim

    @field_validator("decision_weights")
    @classmethod
    def _weights_in_range(cls, weights: dict[str, float]) -> dict[str, float]:
        for key, value in weights.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"decision weight {key!r} is {value}; weights run from 0 to 1")
        return weights

    @field_validator("fallback_policy")
    @classmethod
    def _fallback_required(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a fallback policy is required (use 'offline')")
        return value

    def weight(self, name: str, default: float = 0.5) -> float:
        """A decision weight, or ``default`` when the sheet does not declare it."""
        return self.decision_weights.get(name, default)

    def canonical_json(self) -> str:
        """Deterministic JSON of the sheet: sorted keys, no whitespace variance."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def sheet_hash(self) -> str:
        """sha256 of the canonical form: the persona's ``character_sheet_hash``."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()
