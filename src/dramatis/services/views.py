"""Read models returned by the services: plain data for the CLI, the TUI and JSON output."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dramatis.domain.ledger import Provenance, TurnLedger
from dramatis.domain.world import WorldState

ChronicleFormat = Literal["md", "html", "json"]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return self.model_dump(mode="json")


class ParticipantView(_View):
    """A persona as it takes part in a campaign."""

    persona_id: str
    name: str
    brain: str
    location: str | None = None
    source_format: str | None = None


class CampaignSummary(_View):
    """One row of the campaign list."""

    campaign_id: str
    name: str
    status: str
    turns: int
    turn_limit: int | None
    persona_count: int
    updated_at: str
    forked_from: str | None = None


class DecisionStats(_View):
    """Totals over recorded decisions: brain calls, tokens, the cache and fallbacks.

    ``calls`` counts remote brain calls (answered or failed); cache hits and budget fallbacks
    cost none. ``cache_hit_rate`` is hits / (hits + calls), None before any lookup.
    """

    decisions: int = 0
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cache_hits: int = 0
    cache_hit_rate: float | None = None
    fallbacks: int = 0
    fallbacks_by_reason: dict[str, int] = Field(default_factory=dict)
    by_source: dict[str, int] = Field(default_factory=dict)


class PersonaStats(DecisionStats):
    """One persona's totals in one campaign."""

    persona_id: str
    name: str
    brain: str


class CampaignStats(DecisionStats):
    """A campaign's totals (the sum over its personas), each persona's, and the call budget."""

    personas: tuple[PersonaStats, ...] = ()
    call_budget: int | None = None
    calls_remaining: int | None = None


class CampaignView(_View):
    """One campaign in detail."""

    campaign_id: str
    name: str
    description: str
    status: str
    turns: int
    turn_limit: int | None
    seed: int
    personas: tuple[ParticipantView, ...]
    tension: float | None
    tension_history: tuple[float, ...] = ()
    created_at: str
    updated_at: str
    forked_from: str | None = None
    completion_reason: str | None = None
    chronicler: str
    style: str
    last_turn: TurnLedger | None = None
    world: WorldState | None = None
    stats: CampaignStats | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"world"})


class PlayResult(_View):
    """A campaign after turns were played, with the ledgers of those turns."""

    view: CampaignView
    ledgers: tuple[TurnLedger, ...]
    notices: tuple[str, ...] = ()  # things the player must be told once (e.g. budget spent)
    lost_races: int = 0  # turns another writer took first, so this one played the next


class PersonaView(_View):
    """A persona in the library."""

    persona_id: str
    name: str
    summary: str
    source_format: str
    sheet_hash: str
    memberships: tuple[str, ...] = ()
    decision_count: int = 0


class DecisionView(_View):
    """One recorded decision of a persona, with where it came from and what it was shown."""

    campaign_id: str
    turn: int
    action: str
    target: str | None
    reasoning: str
    provenance: Provenance
    outcome: str | None
    context_text: str
    at: str


class ChapterView(_View):
    """A chapter of a chronicle."""

    number: int
    title: str
    markdown: str
    cited_turns: tuple[int, ...]


class ChronicleView(_View):
    """A campaign's chronicle."""

    chronicle_id: str
    campaign_id: str
    campaign_name: str
    chronicler: str
    style: str
    status: str
    chapters: tuple[ChapterView, ...]
    turns_told: int
    turns_played: int
