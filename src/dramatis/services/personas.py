"""Persona library: import character sheets, list personas."""

from __future__ import annotations

import uuid
from pathlib import Path

from dramatis.domain.persona import DecisionRecorded, Persona
from dramatis.domain.sheet import CharacterSheet
from dramatis.ports import Clock, EventStore, StreamAppend, StreamNotFound
from dramatis.services.codec import decode, encode
from dramatis.services.errors import NotFound
from dramatis.services.repository import load_aggregate
from dramatis.services.views import DecisionView, PersonaView
from dramatis.sheets.loader import load_sheet

PERSONA_STREAM = "persona"


class PersonaService:
    """Imports sheets into persona streams and reads them back."""

    def __init__(self, store: EventStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def import_sheet(self, path: Path) -> tuple[PersonaView, list[str]]:
        """Import a sheet file; an identical sheet already imported is returned, not duplicated."""
        loaded = load_sheet(path)
        warnings = list(loaded.warnings)
        sheet_hash = loaded.sheet.sheet_hash()
        for existing in await self.list_personas():
            if existing.sheet_hash == sheet_hash:
                warnings.append(
                    f"{loaded.sheet.name} was already imported as {existing.persona_id}"
                )
                return existing, warnings
        persona_id = str(uuid.uuid4())
        events = Persona().ingest_character_sheet(persona_id, loaded.sheet, self.clock.now_iso())
        await self.store.append(
            [
                StreamAppend(
                    persona_id,
                    PERSONA_STREAM,
                    0,
                    encode(events, {"actor": "player", "source": str(path)}),
                )
            ]
        )
        return await self.get(persona_id), warnings

    async def get(self, persona_id: str) -> PersonaView:
        """One persona."""
        return _view(await self._load(persona_id))

    async def sheet(self, persona_id: str) -> CharacterSheet:
        """The persona's bound character sheet."""
        persona = await self._load(persona_id)
        if persona.sheet is None:
            raise NotFound(f"persona {persona_id!r} has no character sheet")
        return persona.sheet

    async def decisions(
        self, persona_id: str, campaign_id: str | None = None
    ) -> list[DecisionView]:
        """The persona's decisions, newest first, optionally only those of one campaign."""
        await self._load(persona_id)
        views = []
        for event in decode(await self.store.read_stream(persona_id)):
            if not isinstance(event, DecisionRecorded):
                continue
            if campaign_id is not None and event.campaign_id != campaign_id:
                continue
            views.append(
                DecisionView(
                    campaign_id=event.campaign_id,
                    turn=event.turn,
                    action=event.decision.action.value,
                    target=event.decision.target,
                    reasoning=event.decision.reasoning,
                    provenance=event.decision.provenance,
                    outcome=event.outcome,
                    context_text=event.context_text,
                    at=event.at,
                )
            )
        return list(reversed(views))

    async def _load(self, persona_id: str) -> Persona:
        try:
            return await load_aggregate(self.store, Persona, persona_id)
        except StreamNotFound:
            raise NotFound(
                f"no persona {persona_id!r} here (see: dramatis personas list)"
            ) from None

    async def list_personas(self) -> list[PersonaView]:
        """Every persona of the tenant, by name."""
        personas = [
            _view(await load_aggregate(self.store, Persona, pid))
            for pid in await self.store.list_streams(PERSONA_STREAM)
        ]
        return sorted(personas, key=lambda p: p.name.lower())


def _view(persona: Persona) -> PersonaView:
    sheet = persona.sheet
    return PersonaView(
        persona_id=persona.persona_id,
        name=persona.name,
        summary=sheet.summary if sheet else "",
        source_format=sheet.source_format if sheet else "",
        sheet_hash=persona.sheet_hash or "",
        memberships=persona.memberships,
        decision_count=persona.decision_count,
    )
