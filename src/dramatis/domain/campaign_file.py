"""The campaign file (TOML) as a validated model: the public format of DESIGN.md section 5 plus the
world brief and chronicler settings the engine understands. Paths are resolved by the loader."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dramatis.domain.world import WorldBrief

BrainKind = Literal["offline", "gemini", "human", "openai"]


class PersonaEntry(BaseModel):
    """One participant: a sheet path (relative to the campaign file) and the brain driving it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sheet: str = Field(min_length=1)
    brain: BrainKind = "offline"


class ChroniclerSpec(BaseModel):
    """Who narrates the chronicle, and in which style."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "The Chronicler"
    style: str = "plain"
    turns_per_chapter: int = Field(default=8, ge=1, le=100)


class CampaignFile(BaseModel):
    """A campaign file as written by a person."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    turn_limit: int | None = Field(default=40, ge=1, le=100_000)
    seed: int | None = None
    personas: tuple[PersonaEntry, ...] = Field(min_length=2)
    world: WorldBrief = WorldBrief()
    chronicler: ChroniclerSpec = ChroniclerSpec()
