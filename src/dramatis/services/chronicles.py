"""Chronicle commands and queries: compose chapters from the ledger, render and export them."""

from __future__ import annotations

import json
import logging
import re

from dramatis.domain.campaign import Campaign
from dramatis.domain.chronicle import Chapter, Chronicle, chronicle_id_for
from dramatis.domain.ledger import TurnLedger
from dramatis.domain.persona import Persona
from dramatis.engine.chronicler import (
    ChapterDraft,
    ChronicleContext,
    ChroniclerMemory,
    compose_chapter,
    describe_styles,
    render_chronicle_markdown,
)
from dramatis.engine.prose.text import citation_line, is_citation
from dramatis.ports import (
    ChapterProse,
    ChapterRequest,
    ChronicleWriter,
    Clock,
    EventStore,
    StreamAppend,
    StreamNotFound,
)
from dramatis.services.campaigns import CampaignService
from dramatis.services.codec import encode
from dramatis.services.control_plane import ControlPlaneService
from dramatis.services.repository import load_aggregate
from dramatis.services.views import ChapterView, ChronicleFormat, ChronicleView

CHRONICLE_STREAM = "chronicle"
PROSE_FLAG = "gemini.chronicle"

logger = logging.getLogger(__name__)

_HTML = re.compile(r"<!--|<\s*/?\s*[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?\s*>")
_FENCE = re.compile(r"^\s*```(?:markdown|md)?\s*\n(.*?)\n\s*```\s*$", re.DOTALL)


class ChronicleService:
    """Turns a campaign's ledger into chapters and renders the chronicle."""

    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        campaigns: CampaignService,
        writer: ChronicleWriter,
        *,
        control_plane: ControlPlaneService | None = None,
        prose: ChapterProse | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.campaigns = campaigns
        self.writer = writer
        self.control_plane = control_plane
        self.prose = prose  # used only while the "gemini.chronicle" flag is on for a campaign

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
        self.campaigns.require_actor("write chapters")
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
        name = chronicle_file_name(campaign.name, campaign.campaign_id, "md")
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
        prose = await self._prose_for(campaign.campaign_id)
        written: list[ChapterView] = []
        while ledgers and (limit is None or len(written) < limit):
            batch, ledgers = ledgers[:per_chapter], ledgers[per_chapter:]
            if len(batch) < per_chapter and not (allow_partial or finished):
                break
            number = len(chronicle.chapters) + 1
            draft = compose_chapter(number, batch, context, memory)
            markdown, chronicler = draft.markdown, campaign.chronicler.name
            written_by = await self._write_prose(prose, campaign, context, draft, batch)
            if prose is not None and written_by is not None:
                markdown, chronicler = written_by, f"{chronicler} ({prose.name})"
                memory = memory.absorb(markdown)
            else:
                memory = draft.memory
            events = chronicle.compose_chapter(
                number=number,
                title=draft.title,
                markdown=markdown,
                cited_turns=draft.cited_turns,
                turns_played=played,
                chronicler=chronicler,
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

    async def _prose_for(self, campaign_id: str) -> ChapterProse | None:
        """The prose writer when one is configured and the flag is on for this campaign."""
        if self.prose is None or self.control_plane is None:
            return None
        plane = await self.control_plane.load()
        return self.prose if plane.is_enabled(PROSE_FLAG, subject=campaign_id) else None

    async def _write_prose(
        self,
        prose: ChapterProse | None,
        campaign: Campaign,
        context: ChronicleContext,
        draft: ChapterDraft,
        batch: list[TurnLedger],
    ) -> str | None:
        """The prose writer's chapter, checked and cited; None to keep the offline chapter."""
        if prose is None:
            return None
        citation = citation_line(draft.cited_turns)
        request = ChapterRequest(
            campaign_id=campaign.campaign_id,
            campaign_name=campaign.name,
            number=draft.number,
            title=draft.title,
            chronicler=campaign.chronicler.name,
            style=campaign.chronicler.style,
            style_voice=describe_styles().get(campaign.chronicler.style, ""),
            description=campaign.description,
            names=tuple(context.names.values()),
            places=tuple(context.place_names.values()),
            turns=tuple(ledger_facts(ledger, context) for ledger in batch),
            citation=citation,
        )
        try:
            result = await prose.write_chapter(request)
        except Exception as exc:  # a prose writer's bug or outage must not cost the chapter
            logger.warning("chapter %d: %s prose failed (%s)", draft.number, prose.name, exc)
            return None
        if result is None:
            return None
        heading = draft.markdown.split("\n", 1)[0]
        checked = accept_prose(result.markdown, heading, citation)
        if checked is None:
            logger.warning("chapter %d: %s prose rejected", draft.number, prose.name)
        return checked

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


def ledger_facts(ledger: TurnLedger, context: ChronicleContext) -> str:
    """One turn of the ledger as plain facts for a prose writer."""
    lines = [
        f"Turn {ledger.turn_number} (tension {ledger.tension_before:.2f} -> "
        f"{ledger.tension_after:.2f}):"
    ]
    for entry in ledger.action_log:
        target = f" {entry.target_name or entry.target}" if entry.target else ""
        place = context.place_names.get(entry.location, entry.location)
        roll = f"; roll {entry.roll}{entry.modifier:+d} against {entry.difficulty}"
        fact = f"- {entry.persona_name} {entry.action.value}{target} at {place}: {entry.outcome}"
        fact += roll if entry.difficulty else ""
        if entry.consequence:
            fact += f"; {entry.consequence}"
        fact += f'. Their reason: "{entry.reasoning}"'
        lines.append(fact)
    for event in ledger.events:
        lines.append(f"- Event: {event.title}. {event.text}")
    return "\n".join(lines)


def accept_prose(text: str, heading: str, citation: str) -> str | None:
    """A prose writer's chapter made ready to record, or None when it is not usable.

    Unusable: empty, or holding raw HTML. A markdown fence around the whole answer is removed;
    headings the writer added give way to the chapter's own ``heading``; citation lines the
    writer wrote are replaced by the chapter's ``citation``, which always ends the chapter.
    """
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    if _HTML.search(text):
        return None
    lines = [line.rstrip() for line in text.strip().splitlines()]
    kept = [line for line in lines if not is_citation(line)]
    while kept and (not kept[0].strip() or kept[0].lstrip().startswith("#")):
        kept.pop(0)
    body = "\n".join(kept).strip()
    if not any(ch.isalpha() for ch in body):
        return None
    return f"{heading}\n\n{body}\n\n{citation}\n"


def chronicle_file_name(campaign_name: str, campaign_id: str, extension: str) -> str:
    """Where a campaign's chronicle is written: ``the-salt-road-3f9a1c2e.md``."""
    slug = re.sub(r"[^a-z0-9]+", "-", campaign_name.lower()).strip("-") or "chronicle"
    return f"{slug}-{campaign_id[:8]}.{extension}"
