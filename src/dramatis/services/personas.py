"""Persona library: import character sheets, list personas."""

from __future__ import annotations

import uuid
from pathlib import Path

from dramatis.domain.persona import Persona
from dramatis.ports import Clock, EventStore, StreamAppend
from dramatis.services.codec import encode
from dramatis.services.repository import load_aggregate
from dramatis.services.views import PersonaView
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
                warnings.append(f"{loaded.sheet.name} was already imported as {existing.persona_id}")
                return existing, warnings
        persona_id = str(uuid.uuid4())
        events = Persona().ingest_character_sheet(persona_id, loaded.sheet, self.clock.now_iso())
        await self.store.append(
            [StreamAppend(persona_id, PERSONA_STREAM, 0, encode(events, {"actor": "player", "source": str(path)}))]
        )
        return await self.get(persona_id), warnings

    async def get(self, persona_id: str) -> PersonaView:
        """One persona."""
        return _view(await load_aggregate(self.store, Persona, persona_id))

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
