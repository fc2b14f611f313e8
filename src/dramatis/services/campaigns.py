"""Campaign commands and queries: create, start, play turns, complete, archive, list, show."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dramatis.domain.campaign import Campaign, Participant, TurnAdvanced
from dramatis.domain.context import DecisionContext
from dramatis.domain.events import DomainEvent
from dramatis.domain.ledger import Decision, TurnLedger
from dramatis.domain.persona import DecisionOutOfOrder, DecisionRecorded, Persona
from dramatis.engine.director import build_context, describe_context, resolve_turn
from dramatis.engine.policy import decide_offline
from dramatis.engine.world import initial_world
from dramatis.ports import (
    Clock,
    ConcurrencyError,
    EventStore,
    IdempotencyConflict,
    IdempotencyRecord,
    PersonaBrain,
    PromptCache,
    StreamAppend,
    StreamNotFound,
)
from dramatis.services.brains import (
    BUDGET_SPENT,
    CallBudget,
    DecisionRouter,
    combine,
    is_remote,
    tally,
    with_fallback,
)
from dramatis.services.codec import decode, encode
from dramatis.services.control_plane import (
    GEMINI_PERSONAS_OFF,
    HUMAN_CONTROL_OFF,
    ControlPlaneService,
    FlagView,
)
from dramatis.services.errors import BadRequest, NotFound, PermissionDenied
from dramatis.services.repository import load_aggregate, save_snapshot
from dramatis.services.views import (
    CampaignStats,
    CampaignSummary,
    CampaignView,
    ParticipantView,
    PersonaStats,
    PlayResult,
)
from dramatis.sheets.campaign_loader import LoadedCampaign

CAMPAIGN_STREAM = "campaign"
PERSONA_STREAM = "persona"

ProgressCallback = Callable[[int, int], None]
VIEWER_CANNOT_ACT = "viewers watch; they cannot {what} (a player or an operator can)"


@dataclass
class _Table:
    """A campaign and its personas, loaded once and kept current while turns are played."""

    campaign: Campaign
    personas: dict[str, Persona] = field(default_factory=dict)
    budget: CallBudget | None = None


@dataclass(frozen=True)
class _TurnPlan:
    """Decisions made outside the brains for one shared turn: players' choices, and personas
    whose fallback policy acts (a controller who did not choose in time)."""

    decided: dict[str, Decision]
    fallback: dict[str, str]

    def covers(self, persona_id: str) -> bool:
        return persona_id in self.decided or persona_id in self.fallback

    async def decide(self, context: DecisionContext) -> Decision:
        chosen = self.decided.get(context.persona_id)
        if chosen is not None:
            offered = {(o.action, o.target) for o in context.options}
            if (chosen.action, chosen.target) in offered:
                return chosen
            reason = "the player's choice was no longer possible; the fallback policy acted"
            return with_fallback(decide_offline(context), reason)
        return with_fallback(decide_offline(context), self.fallback[context.persona_id])


def command_hash(name: str, **arguments: Any) -> str:
    """A stable fingerprint of a command, to tell a retry from a different command."""
    text = json.dumps({"command": name, **arguments}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class CampaignService:
    """Campaign commands and queries for one tenant (the store is bound to it)."""

    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        brains: Mapping[str, PersonaBrain],
        *,
        snapshot_every: int = 10,
        max_concurrent_decisions: int = 8,
        control_plane: ControlPlaneService | None = None,
        prompt_cache: PromptCache | None = None,
        call_budget: int | None = None,
        race_retries: int = 50,
        role: str = "operator",
    ) -> None:
        self.store = store
        self.role = role  # viewers may read but not change campaigns
        # How often ``advance`` replays a turn another writer took first before giving up.
        self.race_retries = race_retries
        self.control_plane = control_plane
        self.clock = clock
        self.brains = dict(brains)
        self.snapshot_every = snapshot_every
        self.prompt_cache = prompt_cache
        self.call_budget = call_budget  # remote brain calls per campaign; None: no limit
        self.router = DecisionRouter(
            self.brains, clock=clock, cache=prompt_cache, max_concurrent=max_concurrent_decisions
        )

    @property
    def tenant_id(self) -> str:
        return self.store.tenant_id

    def require_actor(self, what: str) -> None:
        """Refuse a change to viewers."""
        if self.role == "viewer":
            raise PermissionDenied(VIEWER_CANNOT_ACT.format(what=what))

    # ------------------------------------------------------------------ commands

    async def create(
        self,
        loaded: LoadedCampaign,
        *,
        seed: int | None = None,
        turn_limit: int | None = None,
        offline: bool = False,
        idempotency_key: str | None = None,
    ) -> CampaignView:
        """Create a draft campaign and one persona per sheet of the campaign file."""
        self.require_actor("create campaigns")
        spec = loaded.campaign
        names = [entry.sheet.name for entry in loaded.personas]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise BadRequest(
                f"two personas are named {duplicates[0]!r}; give each persona a distinct name"
            )
        chosen_seed = seed if seed is not None else (spec.seed if spec.seed is not None else 7)
        limit = turn_limit if turn_limit is not None else spec.turn_limit
        key_hash = command_hash(
            "create",
            spec=spec.model_dump(mode="json"),
            sheets=[sheet.sheet_hash() for sheet in loaded.sheets],
            seed=chosen_seed,
            turn_limit=limit,
            offline=offline,
        )
        replay = await self._replay(idempotency_key, key_hash)
        if replay is not None:
            return await self.show(replay["campaign_id"])
        at = self.clock.now_iso()
        campaign_id = str(uuid.uuid4())
        appends: list[StreamAppend] = []
        participants: list[Participant] = []
        for entry in loaded.personas:
            persona_id = str(uuid.uuid4())
            events = Persona().ingest_character_sheet(persona_id, entry.sheet, at)
            appends.append(StreamAppend(persona_id, PERSONA_STREAM, 0, encode(events)))
            brain = "offline" if offline else entry.brain
            participants.append(
                Participant(persona_id=persona_id, name=entry.sheet.name, brain=brain)
            )
        created = Campaign.create(
            campaign_id=campaign_id,
            tenant_id=self.tenant_id,
            name=spec.name,
            description=spec.description,
            participants=participants,
            turn_limit=limit,
            seed=chosen_seed,
            brief=spec.world,
            chronicler=spec.chronicler,
            at=at,
        )
        appends.insert(
            0,
            StreamAppend(
                campaign_id,
                CAMPAIGN_STREAM,
                0,
                encode(created, self._meta("create", idempotency_key)),
            ),
        )
        written = await self.store.append(
            appends, self._idem(idempotency_key, key_hash, campaign_id)
        )
        if not written:  # a concurrent request with the same key created it first
            replay = await self._replay(idempotency_key, key_hash)
            campaign_id = replay["campaign_id"] if replay is not None else campaign_id
        return await self.show(campaign_id)

    async def start(self, campaign_ref: str, *, idempotency_key: str | None = None) -> CampaignView:
        """Make a draft campaign active, laying out its world from the brief."""
        self.require_actor("start campaigns")
        campaign = await self._load_campaign(await self.resolve_id(campaign_ref))
        key_hash = command_hash("start", campaign_id=campaign.campaign_id)
        if await self._replay(idempotency_key, key_hash) is not None:
            return await self.show(campaign.campaign_id)
        world = initial_world(
            campaign.brief,
            campaign.participant_ids,
            campaign.seed,
            names={p.persona_id: p.name for p in campaign.participants},
        )
        events = campaign.start(world, self.clock.now_iso())
        await self._append_campaign(campaign, events, "start", idempotency_key, key_hash)
        return self._view(campaign)

    async def play(
        self,
        loaded: LoadedCampaign,
        *,
        turns: int | None = None,
        seed: int | None = None,
        offline: bool = False,
        progress: ProgressCallback | None = None,
    ) -> PlayResult:
        """Create, start and play a campaign: ``turns`` turns, or up to its turn limit."""
        view = await self.create(loaded, seed=seed, offline=offline)
        await self.start(view.campaign_id)
        total = turns if turns is not None else (view.turn_limit or 40)
        return await self.advance(view.campaign_id, turns=total, offline=offline, progress=progress)

    async def advance(
        self,
        campaign_ref: str,
        *,
        turns: int = 1,
        offline: bool = False,
        progress: ProgressCallback | None = None,
        idempotency_key: str | None = None,
        at_turn: int | None = None,
        decided: Mapping[str, Decision] | None = None,
        fallback: Mapping[str, str] | None = None,
    ) -> PlayResult:
        """Play up to ``turns`` turns (fewer if the campaign completes); one transaction a turn.

        Shared play resolves one called turn: ``at_turn`` plays that turn only, and nothing if
        another writer played it first; ``decided`` gives the choices players made (by persona
        id) and ``fallback`` the personas whose fallback policy acts instead, with the reason.
        """
        self.require_actor("play turns")
        if turns < 1:
            raise BadRequest(f"turns must be at least 1, not {turns}")
        campaign_id = await self.resolve_id(campaign_ref)
        key_hash = command_hash("advance", campaign_id=campaign_id, turns=turns, offline=offline)
        replay = await self._replay(idempotency_key, key_hash)
        if replay is not None:
            ledgers = await self.ledger(campaign_id, replay["from_turn"], replay["to_turn"])
            return PlayResult(view=await self.show(campaign_id), ledgers=tuple(ledgers))
        table = await self._load_table(campaign_id)
        if self.call_budget is not None and not offline:
            table.budget = await self._load_budget(table.campaign, self.call_budget)
        ledgers: list[TurnLedger] = []
        append_ms: list[float] = []
        decision_ms: list[float] = []
        notices: list[str] = []
        lost_races = 0
        plan = _TurnPlan(dict(decided or {}), dict(fallback or {}))
        for index in range(turns):
            if index > 0 and table.campaign.status != "active":
                break  # the campaign completed (turn limit or the story's end)
            for attempt in range(self.race_retries + 1):
                if at_turn is not None and table.campaign.current_turn + 1 != at_turn:
                    break  # the called turn was played by another writer (or is not next)
                try:
                    ledgers.append(
                        await self._play_turn(
                            table,
                            offline=offline,
                            append_ms=append_ms,
                            decision_ms=decision_ms,
                            plan=plan,
                        )
                    )
                    break
                except (ConcurrencyError, DecisionOutOfOrder):
                    # Another writer played this turn first (its personas may even have been
                    # read after its turn and the campaign before): reload, play the next one.
                    if attempt == self.race_retries:
                        raise
                    lost_races += 1
                    table = await self._reload_table(table, offline=offline)
                    if ledgers and table.campaign.status != "active":
                        break  # the other writer ended the campaign
            notice = table.budget.take_notice() if table.budget is not None else None
            if notice is not None:
                notices.append(notice)
            if progress is not None:
                progress(index + 1, turns)
        await self._record_measurements(table, ledgers, append_ms, decision_ms)
        if idempotency_key is not None and ledgers:
            record = self._idem(
                idempotency_key,
                key_hash,
                campaign_id,
                from_turn=ledgers[0].turn_number,
                to_turn=ledgers[-1].turn_number,
            )
            await self.store.append([], record)
        return PlayResult(
            view=self._view(table.campaign, None),
            ledgers=tuple(ledgers),
            notices=tuple(notices),
            lost_races=lost_races,
        )

    async def complete(
        self, campaign_ref: str, reason: str = "ended by the players"
    ) -> CampaignView:
        """End an active campaign before its turn limit."""
        self.require_actor("end campaigns")
        campaign = await self._load_campaign(await self.resolve_id(campaign_ref))
        events = campaign.complete(reason, self.clock.now_iso())
        await self._append_campaign(campaign, events, "complete")
        return self._view(campaign)

    async def archive(
        self, campaign_ref: str, *, idempotency_key: str | None = None
    ) -> CampaignView:
        """Archive a campaign: it keeps its history and takes no more turns."""
        self.require_actor("archive campaigns")
        campaign = await self._load_campaign(await self.resolve_id(campaign_ref))
        key_hash = command_hash("archive", campaign_id=campaign.campaign_id)
        if await self._replay(idempotency_key, key_hash) is not None:
            return await self.show(campaign.campaign_id)
        events = campaign.archive(self.clock.now_iso())
        await self._append_campaign(campaign, events, "archive", idempotency_key, key_hash)
        return self._view(campaign)

    # ------------------------------------------------------------------ queries

    async def list_campaigns(self) -> list[CampaignSummary]:
        """Every campaign of the tenant, most recently updated first."""
        summaries = []
        for campaign_id in await self.store.list_streams(CAMPAIGN_STREAM):
            c = await self._load_campaign(campaign_id)
            summaries.append(
                CampaignSummary(
                    campaign_id=c.campaign_id,
                    name=c.name,
                    status=c.status,
                    turns=c.current_turn,
                    turn_limit=c.turn_limit,
                    persona_count=len(c.participants),
                    updated_at=c.updated_at,
                    forked_from=c.forked_from,
                )
            )
        summaries.sort(key=lambda s: s.updated_at, reverse=True)
        return summaries

    async def show(self, campaign_ref: str, *, with_stats: bool = False) -> CampaignView:
        """One campaign in detail; ``with_stats`` adds its decision statistics, which read every
        decision of every persona (costly on a long campaign, so only on request)."""
        campaign = await self._load_campaign(await self.resolve_id(campaign_ref))
        return self._view(campaign, await self._stats(campaign) if with_stats else None)

    async def stats(self, campaign_ref: str) -> CampaignStats:
        """Per-persona and campaign totals: brain calls, tokens, cache hit rate, fallbacks."""
        return await self._stats(await self._load_campaign(await self.resolve_id(campaign_ref)))

    async def get(self, campaign_ref: str) -> Campaign:
        """The campaign aggregate itself (read-only use)."""
        return await self._load_campaign(await self.resolve_id(campaign_ref))

    async def ledger(
        self,
        campaign_ref: str,
        from_turn: int = 1,
        to_turn: int | None = None,
        *,
        last: int | None = None,
    ) -> list[TurnLedger]:
        """The turn ledger entries from ``from_turn`` to ``to_turn`` (inclusive), or the ``last``
        N turns. Reads only the tail of the stream that can hold them."""
        campaign = await self._load_campaign(await self.resolve_id(campaign_ref))
        if last is not None:
            from_turn = max(1, campaign.current_turn - last + 1)
        inherited: list[TurnLedger] = []
        fork_turn = campaign.forked_at_turn or 0
        if campaign.forked_from is not None and from_turn <= fork_turn:
            # A fork shares its parent's turns up to the fork by reference: read them there.
            upto = fork_turn if to_turn is None else min(to_turn, fork_turn)
            inherited = await self.ledger(campaign.forked_from, from_turn, upto)
        # The stream opens with CampaignCreated and CampaignStarted, and every turn adds at least
        # one event, so turn t sits past version t - first_turn + 2.
        first_turn = (campaign.forked_at_turn or 0) + 1
        after_version = max(0, from_turn - first_turn + 2)
        records = await self.store.read_stream(campaign.campaign_id, after_version=after_version)
        ledgers = []
        for record in records:
            if record.event_type != TurnAdvanced.event_type:
                continue
            turn = record.payload["ledger"]["turn_number"]
            if turn < from_turn or (to_turn is not None and turn > to_turn):
                continue
            event = decode([record])[0]
            if isinstance(event, TurnAdvanced):
                ledgers.append(event.ledger)
        return inherited + ledgers

    async def resolve_id(self, campaign_ref: str) -> str:
        """A full campaign id from an id or a unique prefix of one."""
        ref = campaign_ref.strip().lower()
        if not ref:
            raise BadRequest("give a campaign id (see: dramatis campaigns)")
        if len(ref) == 36 and await self.store.stream_version(ref) > 0:
            return ref
        matches = [
            cid for cid in await self.store.list_streams(CAMPAIGN_STREAM) if cid.startswith(ref)
        ]
        if not matches:
            raise NotFound(f"no campaign {campaign_ref!r} here (see: dramatis campaigns)")
        if len(matches) > 1:
            raise BadRequest(
                f"{campaign_ref!r} matches {len(matches)} campaigns; give more of the id"
            )
        return matches[0]

    # ------------------------------------------------------------------ turns

    async def _record_measurements(
        self,
        table: _Table,
        ledgers: Sequence[TurnLedger],
        append_ms: Sequence[float],
        decision_ms: Sequence[float],
    ) -> None:
        """Feed the control plane's SLOs with what this run of turns measured (one window)."""
        if self.control_plane is None or not ledgers:
            return
        values = {
            "turn p95": percentile([ledger.duration_seconds for ledger in ledgers], 0.95),
            "decision p95": percentile(decision_ms, 0.95),
            "append p99": percentile(append_ms, 0.99),
        }
        remote_ids = {p.persona_id for p in table.campaign.participants if is_remote(p.brain)}
        answered = [
            e.source
            for ledger in ledgers
            for e in ledger.action_log
            if e.persona_id in remote_ids and e.source != "offline"
        ]
        if answered:
            values["cache hit rate"] = answered.count("cache") / len(answered)
        gemini_ids = {p.persona_id for p in table.campaign.participants if p.brain == "gemini"}
        if gemini_ids:
            entries = [
                e for ledger in ledgers for e in ledger.action_log if e.persona_id in gemini_ids
            ]
            fell_back = sum(1 for e in entries if e.source != "gemini" and e.source != "cache")
            values["fallback rate"] = fell_back / len(entries)
        await self.control_plane.record_measurements(values)

    async def _play_turn(
        self,
        table: _Table,
        *,
        offline: bool,
        append_ms: list[float],
        decision_ms: list[float] | None = None,
        plan: _TurnPlan | None = None,
    ) -> TurnLedger:
        campaign = table.campaign
        # Flags are re-read at the start of every turn: a toggle anywhere applies from here.
        gates = await self.control_plane.flags() if self.control_plane is not None else None
        campaign.require_playable()
        if campaign.world is None:
            raise BadRequest(f"campaign {campaign.name!r} has not started; start it first")
        turn = campaign.current_turn + 1
        names = {p.persona_id: p.name for p in campaign.participants}
        sheets = {pid: persona.sheet for pid, persona in table.personas.items() if persona.sheet}
        contexts = self._contexts(table)
        started = self.clock.monotonic()
        brains = {p.persona_id: ("offline" if offline else p.brain) for p in campaign.participants}
        plan = plan or _TurnPlan({}, {})
        decided = await asyncio.gather(
            *(
                plan.decide(ctx)
                if plan.covers(pid)
                else self._decide(brains[pid], ctx, table.budget, gates)
                for pid, ctx in contexts.items()
            )
        )
        decisions = dict(zip(contexts, decided, strict=True))
        if decision_ms is not None:
            decision_ms.extend(d.provenance.latency_ms for d in decided)
        duration = max(0.0, self.clock.monotonic() - started)
        at = self.clock.now_iso()
        resolution = resolve_turn(
            world=campaign.world,
            brief=campaign.brief,
            decisions=decisions,
            sheets=sheets,
            names=names,
            seed=campaign.seed,
            turn=turn,
            timestamp=at,
            duration_seconds=duration,
        )
        campaign_events = campaign.advance_turn(resolution.ledger, resolution.world, at)
        outcomes = {entry.persona_id: entry.outcome for entry in resolution.ledger.action_log}
        meta = {"actor": "director", "correlation_id": f"{campaign.campaign_id}:{turn}"}
        appends = [
            StreamAppend(
                campaign.campaign_id,
                CAMPAIGN_STREAM,
                campaign.version,
                encode(campaign_events, meta),
            )
        ]
        persona_events: dict[str, list[DomainEvent]] = {}
        for pid, decision in decisions.items():
            persona = table.personas[pid]
            events = persona.record_decision(
                campaign.campaign_id,
                turn,
                decision,
                describe_context(contexts[pid]),
                at,
                outcomes.get(pid),
            )
            persona_events[pid] = events
            appends.append(StreamAppend(pid, PERSONA_STREAM, persona.version, encode(events, meta)))
        append_started = self.clock.monotonic()
        await self.store.append(appends)
        append_ms.append((self.clock.monotonic() - append_started) * 1000)
        for event in campaign_events:
            campaign.apply(event)
        for pid, events in persona_events.items():
            for event in events:
                table.personas[pid].apply(event)
        if turn % self.snapshot_every == 0:
            await save_snapshot(self.store, campaign.campaign_id, campaign)
            for pid, persona in table.personas.items():
                await save_snapshot(self.store, pid, persona)
        return resolution.ledger

    def _contexts(self, table: _Table) -> dict[str, DecisionContext]:
        """What every participant is shown for the campaign's next turn."""
        campaign = table.campaign
        if campaign.world is None:
            raise BadRequest(f"campaign {campaign.name!r} has not started; start it first")
        names = {p.persona_id: p.name for p in campaign.participants}
        return {
            p.persona_id: build_context(
                campaign_id=campaign.campaign_id,
                tenant_id=self.tenant_id,
                seed=campaign.seed,
                turn=campaign.current_turn + 1,
                persona_id=p.persona_id,
                sheet=table.personas[p.persona_id].sheet,
                world=campaign.world,
                brief=campaign.brief,
                names=names,
            )
            for p in campaign.participants
            if table.personas[p.persona_id].sheet is not None
        }

    async def next_contexts(self, campaign_ref: str) -> dict[str, DecisionContext]:
        """What each persona is shown for the next turn (the options a player chooses from)."""
        table = await self._load_table(await self.resolve_id(campaign_ref))
        return self._contexts(table)

    async def _decide(
        self,
        brain_kind: str,
        context: DecisionContext,
        budget: CallBudget | None = None,
        gates: FlagView | None = None,
    ) -> Decision:
        """One persona's decision: through the prompt cache, within the budget and the
        concurrency bound; falls back to the offline policy rather than fail the turn.

        The flags gate it: ``gemini.personas`` off decides gemini personas offline without a
        call, ``personas.human`` off makes human personas act by their fallback, and
        ``cache.redis`` off bypasses the prompt cache (subject: the campaign id)."""
        if gates is None:
            return await self.router.decide(brain_kind, context, budget)
        subject = context.campaign_id
        if brain_kind == "gemini" and not gates.enabled("gemini.personas", subject):
            return with_fallback(decide_offline(context), GEMINI_PERSONAS_OFF)
        if brain_kind == "human" and not gates.enabled("personas.human", subject):
            return with_fallback(decide_offline(context), HUMAN_CONTROL_OFF)
        use_cache = gates.enabled("cache.redis", subject)
        return await self.router.decide(brain_kind, context, budget, use_cache=use_cache)

    # ------------------------------------------------------------------ statistics

    async def _decisions(self, campaign: Campaign) -> dict[str, list[Decision]]:
        """Every recorded decision of each participant in this campaign, by persona id."""
        found: dict[str, list[Decision]] = {pid: [] for pid in campaign.participant_ids}
        for pid in campaign.participant_ids:
            try:
                records = await self.store.read_stream(pid)
            except StreamNotFound:
                continue
            wanted = [r for r in records if r.event_type == DecisionRecorded.event_type]
            for event in decode(wanted):
                if not isinstance(event, DecisionRecorded):
                    continue
                if event.campaign_id == campaign.campaign_id:
                    found[pid].append(event.decision)
        return found

    async def _stats(self, campaign: Campaign) -> CampaignStats:
        decisions = await self._decisions(campaign)
        personas = tuple(
            PersonaStats(
                persona_id=p.persona_id,
                name=p.name,
                brain=p.brain,
                **tally(p.brain, decisions[p.persona_id]).model_dump(),
            )
            for p in campaign.participants
        )
        totals = combine(personas)
        budget = self.call_budget
        return CampaignStats(
            **totals.model_dump(),
            personas=personas,
            call_budget=budget,
            calls_remaining=None if budget is None else max(0, budget - totals.calls),
        )

    async def _load_budget(self, campaign: Campaign, limit: int) -> CallBudget:
        """The campaign's call budget with the calls already spent in earlier sessions."""
        stats = await self._stats(campaign)
        return CallBudget(
            limit, used=stats.calls, told=stats.fallbacks_by_reason.get(BUDGET_SPENT, 0) > 0
        )

    # ------------------------------------------------------------------ plumbing

    async def _load_campaign(self, campaign_id: str) -> Campaign:
        try:
            return await load_aggregate(self.store, Campaign, campaign_id)
        except StreamNotFound:
            raise NotFound(f"no campaign {campaign_id!r} here (see: dramatis campaigns)") from None

    async def _load_table(self, campaign_id: str) -> _Table:
        campaign = await self._load_campaign(campaign_id)
        personas = await asyncio.gather(
            *(load_aggregate(self.store, Persona, pid) for pid in campaign.participant_ids)
        )
        return _Table(campaign, dict(zip(campaign.participant_ids, personas, strict=True)))

    async def _reload_table(self, table: _Table, *, offline: bool) -> _Table:
        """The campaign and its personas as stored now (after another writer's turn)."""
        fresh = await self._load_table(table.campaign.campaign_id)
        if table.budget is not None and self.call_budget is not None and not offline:
            fresh.budget = await self._load_budget(fresh.campaign, self.call_budget)
        return fresh

    async def _append_campaign(
        self,
        campaign: Campaign,
        events: Sequence[DomainEvent],
        command: str,
        idempotency_key: str | None = None,
        key_hash: str = "",
    ) -> None:
        append = StreamAppend(
            campaign.campaign_id,
            CAMPAIGN_STREAM,
            campaign.version,
            encode(events, self._meta(command, idempotency_key)),
        )
        await self.store.append(
            [append], self._idem(idempotency_key, key_hash, campaign.campaign_id)
        )
        for event in events:
            campaign.apply(event)

    async def _replay(self, key: str | None, key_hash: str) -> dict[str, Any] | None:
        if key is None:
            return None
        record = await self.store.get_idempotency(key)
        if record is None:
            return None
        if record.command_hash != key_hash:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was already used for a different request; use a new key"
            )
        return record.result

    @staticmethod
    def _idem(
        key: str | None, key_hash: str, campaign_id: str, **extra: Any
    ) -> IdempotencyRecord | None:
        if key is None:
            return None
        return IdempotencyRecord(key, key_hash, {"campaign_id": campaign_id, **extra})

    @staticmethod
    def _meta(command: str, idempotency_key: str | None) -> dict[str, Any]:
        meta: dict[str, Any] = {"actor": "player", "command": command}
        if idempotency_key:
            meta["idempotency_key"] = idempotency_key
        return meta

    def _view(self, c: Campaign, stats: CampaignStats | None = None) -> CampaignView:
        positions = c.world.positions if c.world else {}
        locations = {loc.id: loc.name for loc in c.brief.locations}
        return CampaignView(
            campaign_id=c.campaign_id,
            name=c.name,
            description=c.description,
            status=c.status,
            turns=c.current_turn,
            turn_limit=c.turn_limit,
            seed=c.seed,
            personas=tuple(
                ParticipantView(
                    persona_id=p.persona_id,
                    name=p.name,
                    brain=p.brain,
                    location=locations.get(
                        positions.get(p.persona_id, ""), positions.get(p.persona_id)
                    ),
                )
                for p in c.participants
            ),
            tension=c.world.tension if c.world else None,
            tension_history=c.tension_history,
            created_at=c.created_at,
            updated_at=c.updated_at,
            forked_from=c.forked_from,
            completion_reason=c.completion_reason,
            chronicler=c.chronicler.name,
            style=c.chronicler.style,
            last_turn=c.last_ledger,
            world=c.world,
            stats=stats,
        )


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` fall (nearest rank); 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]
