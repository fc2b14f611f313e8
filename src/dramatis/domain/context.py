"""What a persona is shown when it decides: its sheet, the world it perceives, its options."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from dramatis.domain.actions import ActionKind
from dramatis.domain.sheet import CharacterSheet
from dramatis.domain.world import WorldBrief, WorldState


class ActionOption(BaseModel):
    """One action available to a persona this turn."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: ActionKind
    target: str | None = None
    target_name: str | None = None
    label: str  # e.g. "question Tobiah Crane", shown to humans and in prompts


class DecisionContext(BaseModel):
    """Everything a brain may use to decide one persona's action for one turn."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    campaign_id: str
    tenant_id: str
    seed: int
    turn: int
    persona_id: str
    sheet: CharacterSheet
    world: WorldState
    brief: WorldBrief
    names: dict[str, str]  # persona id -> display name, for every participant
    options: tuple[ActionOption, ...]
