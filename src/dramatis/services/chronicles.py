"""Chronicle commands and queries: compose chapters from the ledger, render and export them."""

from __future__ import annotations

import json
import re

from dramatis.domain.campaign import Campaign
from dramatis.domain.chronicle import Chapter, Chronicle, chronicle_id_for
from dramatis.domain.persona import Persona
from dramatis.engine.chronicler import (
    ChronicleContext,
    ChroniclerMemory,
    compose_chapter,
    render_chronicle_markdown,
)
from dramatis.ports import ChronicleWriter, Clock, EventStore, StreamAppend, StreamNotFound
from dramatis.services.campaigns import CampaignService
from dramatis.services.codec import encode
from dramatis.services.repository import load_aggregate
from dramatis.services.views import ChapterView, ChronicleFormat, ChronicleView

CHRONICLE_STREAM = "chronicle"


class ChronicleService:
    """Turns a campaign's ledger into chapters and renders the chronicle."""

    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        campaigns: CampaignService,
        writer: ChronicleWriter,
    ) -> None:
        self.store = store
        self.clock = clock
        self.campaigns = campaigns
        self.writer = writer

    async def load(self, campaign_id: str) -> Chronicle:
        """The campaign's chronicle (empty if no chapter was written yet)."""
        try:
            return await load_aggregate(self.store, Chronicle, chronicle_id_for(campaign_id))
        except StreamNotFound:
            return Chronicle.for_campaign(campaign_id)

    async def compose_next(
        self, campaign_ref: str, *, allow_partial: bool = True
    ) -> ChapterView | None:
        """Write the next chapter from turns not yet told; None when every turn is told.

        A chapter covers the chronicler's ``turns_per_chapter`` turns; with ``allow_partial`` a
        shorter chapter is written from the turns there are.
        """
        campaign = await self.campaigns.get(campaign_ref)
        chronicle = await self.load(campaign.campaign_id)
        chapters = await self._compose(campaign, chronicle, allow_partial=allow_partial, limit=1)
        return chapters[0] if chapters else None

    async def compose_pending(self, campaign_ref: str) -> list[ChapterView]:
        """Write chapters until every played turn is told."""
        campaign = await self.campaigns.get(campaign_ref)
        chronicle = await self.load(campaign.campaign_id)
        return await self._compose(campaign, chronicle, allow_partial=True, limit=None)

    async def view(self, campaign_ref: str) -> ChronicleView:
        """The chronicle as it stands."""
        campaign = await self.campaigns.get(campaign_ref)
        return self._view(campaign, await self.load(campaign.campaign_id))

    async def render(self, campaign_ref: str, fmt: ChronicleFormat = "md") -> str:
        """Compose pending chapters, then render the whole chronicle as markdown or JSON."""
        await self.compose_pending(campaign_ref)
        view = await self.view(campaign_ref)
        if fmt == "json":
            return json.dumps(view.to_json(), indent=2, ensure_ascii=False) + "\n"
        return render_chronicle_markdown(
            view.campaign_name, view.chronicler, [c.markdown for c in view.chapters]
        )

    async def export_default(self, campaign_ref: str) -> str:
        """Compose pending chapters and write the markdown chronicle; returns where it went."""
        campaign = await self.campaigns.get(campaign_ref)
        text = await self.render(campaign.campaign_id, "md")
        name = f"{_slug(campaign.name)}-{campaign.campaign_id[:8]}.md"
        return await self.writer.write(name, text)

    async def _compose(
        self, campaign: Campaign, chronicle: Chronicle, *, allow_partial: bool, limit: int | None
    ) -> list[ChapterView]:
        per_chapter = campaign.chronicler.turns_per_chapter
        told = chronicle.last_cited_turn
        played = campaign.current_turn
        finished = campaign.status in ("complete", "archived")
        if told >= played:
            return []
        ledgers = await self.campaigns.ledger(campaign.campaign_id, told + 1, played)
        personas = [
            await load_aggregate(self.store, Persona, pid) for pid in campaign.participant_ids
        ]
        context = ChronicleContext(
            campaign_name=campaign.name,
            description=campaign.description,
            brief=campaign.brief,
            names={p.persona_id: p.name for p in campaign.participants},
            sheets={p.persona_id: p.sheet for p in personas if p.sheet is not None},
            chronicler=campaign.chronicler,
            seed=campaign.seed,
        )
        memory = ChroniclerMemory.from_chapters([c.markdown for c in chronicle.chapters])
        written: list[ChapterView] = []
        while ledgers and (limit is None or len(written) < limit):
            batch, ledgers = ledgers[:per_chapter], ledgers[per_chapter:]
            if len(batch) < per_chapter and not (allow_partial or finished):
                break
            number = len(chronicle.chapters) + 1
            draft = compose_chapter(number, batch, context, memory)
            memory = draft.memory
            events = chronicle.compose_chapter(
                number=number,
                title=draft.title,
                markdown=draft.markdown,
                cited_turns=draft.cited_turns,
                turns_played=played,
                chronicler=campaign.chronicler.name,
                style=campaign.chronicler.style,
                at=self.clock.now_iso(),
            )
            await self.store.append(
                [
                    StreamAppend(
                        chronicle.chronicle_id, CHRONICLE_STREAM, chronicle.version, encode(events)
                    )
                ]
            )
            for event in events:
                chronicle.apply(event)
            written.append(_chapter_view(chronicle.chapters[-1]))
        return written

    def _view(self, campaign: Campaign, chronicle: Chronicle) -> ChronicleView:
        return ChronicleView(
            chronicle_id=chronicle_id_for(campaign.campaign_id),
            campaign_id=campaign.campaign_id,
            campaign_name=campaign.name,
            chronicler=campaign.chronicler.name,
            style=campaign.chronicler.style,
            status=chronicle.status,
            chapters=tuple(_chapter_view(c) for c in chronicle.chapters),
            turns_told=chronicle.last_cited_turn,
            turns_played=campaign.current_turn,
        )


def _chapter_view(chapter: Chapter) -> ChapterView:
    return ChapterView(
        number=chapter.number,
        title=chapter.title,
        markdown=chapter.markdown,
        cited_turns=chapter.cited_turns,
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chronicle"
