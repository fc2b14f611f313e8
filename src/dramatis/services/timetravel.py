"""Time travel: fork any turn, reroll the last turn, inspect any turn, replay and verify.

A fork shares its parent's history by reference: its stream holds only a ``CampaignCreated`` that
names the parent and the fork turn, a ``CampaignStarted`` with the world as it stood after that
turn, and the turns it plays itself; the parent gets one ``CampaignForked``. A campaign's
*timeline* is therefore a chain of segments, root first: turns 1..k of the root, k+1..m of its
fork, and so on (forks of forks work the same way).

Replay re-runs a campaign from its creation events: the initial world from the brief, then every
turn through the director, with each persona's decision either recomputed (the offline policy:
a decision recorded as offline with no fallback) or taken from its ``DecisionRecorded`` (Gemini,
cache, human and fallback decisions), after checking that the context rebuilt for it is the one it
was shown. Every turn's state hash (``domain.fingerprint``) is compared with the one its
``TurnAdvanced`` recorded; the first turn that differs is reported.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from dramatis.domain.campaign import (
    Campaign,
    CampaignCreated,
    CampaignStarted,
    TurnAdvanced,
)
from dramatis.domain.events import DomainEvent
from dramatis.domain.fingerprint import state_hash
from dramatis.domain.ledger import Decision, TurnLedger
from dramatis.domain.persona import CharacterSheetBound, DecisionRecorded
from dramatis.domain.sheet import CharacterSheet
from dramatis.domain.world import WorldState
from dramatis.engine.director import build_context, describe_context, resolve_turn
from dramatis.engine.policy import decide_offline
from dramatis.engine.world import initial_world
from dramatis.ports import RecordedEvent, StreamAppend, StreamNotFound
from dramatis.services.campaigns import CAMPAIGN_STREAM, CampaignService
from dramatis.services.codec import decode, encode
from dramatis.services.errors import BadRequest
from dramatis.services.views import CampaignView, DecisionView

# ---------------------------------------------------------------- read models


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)

    def to_json(self) -> dict[str, object]:
        return self.model_dump(mode="json")


class FamilyNode(_View):
    """A campaign in its family tree, with the forks made from it."""

    campaign_id: str
    name: str
    status: str
    turns: int
    seed: int
    forked_at_turn: int | None = None
    children: tuple[FamilyNode, ...] = ()

    def walk(self, depth: int = 0) -> list[tuple[int, FamilyNode]]:
        """Every node of the tree, depth first, with its depth (the root is 0)."""
        rows = [(depth, self)]
        for child in self.children:
            rows += child.walk(depth + 1)
        return rows


class PersonaAtTurn(_View):
    """What one persona knew, felt and chose at a turn."""

    persona_id: str
    name: str
    location: str | None
    knowledge: tuple[str, ...]
    perceptions: tuple[str, ...]
    trust: dict[str, float]
    decision: DecisionView | None = None


class TurnState(_View):
    """A campaign as it stood after ``turn``, read from the events of its timeline.

    ``source_campaign_id`` is the campaign whose stream holds the turn (an ancestor's, for a
    fork's shared turns). ``hash_ok`` is False when the stored world no longer matches the hash
    recorded with it (None: no hash was recorded).
    """

    campaign_id: str
    source_campaign_id: str
    turn: int
    current_turn: int
    world: WorldState
    ledger: TurnLedger | None
    state_hash: str | None
    hash_ok: bool | None
    personas: tuple[PersonaAtTurn, ...]


class RerollResult(_View):
    """The last turn played again with another seed, as a fork: both branches stay playable."""

    turn: int
    original: CampaignView
    original_turn: TurnLedger
    reroll: CampaignView
    reroll_turn: TurnLedger
    seed: int


class ReplayReport(_View):
    """The outcome of replaying a campaign from its creation events.

    ``verified`` is True when every replayed turn hashed to what was recorded (turns recorded
    before state hashes existed are compared with their stored world instead and listed in
    ``unrecorded_turns``). Otherwise ``divergent_turn`` is the first turn that differs and
    ``reason`` says how.
    """

    campaign_id: str
    turns: int
    replayed: int
    verified: bool
    divergent_turn: int | None = None
    campaign_of_divergence: str | None = None
    reason: str | None = None
    final_hash: str | None = None
    unrecorded_turns: tuple[int, ...] = ()
    recomputed_decisions: int = 0
    recorded_decisions: int = 0
    segments: tuple[str, ...] = ()


# ---------------------------------------------------------------- timeline


@dataclass(frozen=True)
class Segment:
    """The turns ``first_turn + 1 .. last_turn`` of a timeline, stored in ``campaign``."""

    campaign: Campaign
    first_turn: int
    last_turn: int

    @property
    def campaign_id(self) -> str:
        return self.campaign.campaign_id

    def holds(self, turn: int) -> bool:
        return self.first_turn < turn <= self.last_turn


@dataclass
class _Stream:
    """One campaign stream, decoded as far as replay needs it."""

    created: CampaignCreated
    started: CampaignStarted | None
    turns: dict[int, TurnAdvanced] = field(default_factory=dict)


class DivergenceFound(Exception):
    """Internal: replay stopped at the first turn that differs."""

    def __init__(self, turn: int, campaign_id: str, reason: str) -> None:
        super().__init__(reason)
        self.turn = turn
        self.campaign_id = campaign_id
        self.reason = reason


def _turn_of(record: RecordedEvent) -> int | None:
    if record.event_type != TurnAdvanced.event_type:
        return None
    return int(record.payload["ledger"]["turn_number"])


def _derived_seed(seed: int, turn: int, sibling: int) -> int:
    digest = hashlib.sha256(f"reroll:{seed}:{turn}:{sibling}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class TimeTravelService:
    """Forks, rerolls, turn inspection and verified replay over the campaign service's store."""

    def __init__(self, campaigns: CampaignService) -> None:
        self.campaigns = campaigns
        self.store = campaigns.store
        self.clock = campaigns.clock

    @property
    def tenant_id(self) -> str:
        return self.store.tenant_id

    # ------------------------------------------------------------ timeline

    async def lineage(self, campaign_ref: str) -> list[Campaign]:
        """The campaign and its ancestors, root first."""
        chain = [await self.campaigns.get(campaign_ref)]
        seen = {chain[0].campaign_id}
        while chain[0].forked_from is not None:
            parent = await self.campaigns.get(chain[0].forked_from)
            if parent.campaign_id in seen:
                raise BadRequest(f"campaign {parent.campaign_id} is its own ancestor")
            seen.add(parent.campaign_id)
            chain.insert(0, parent)
        return chain

    async def timeline(self, campaign_ref: str) -> list[Segment]:
        """Where each turn of the campaign's history is stored, root first."""
        chain = await self.lineage(campaign_ref)
        segments = []
        for index, campaign in enumerate(chain):
            first = campaign.forked_at_turn or 0
            if index + 1 < len(chain):
                last = chain[index + 1].forked_at_turn or 0
            else:
                last = campaign.current_turn
            segments.append(Segment(campaign, first, last))
        return segments

    async def _turn_record(self, campaign: Campaign, turn: int) -> TurnAdvanced | None:
        """The ``TurnAdvanced`` of ``turn`` in ``campaign``'s own stream (None if not there)."""
        first = campaign.forked_at_turn or 0
        # Created and Started come first and every turn adds one TurnAdvanced, so turn t is
        # at version t - first + 2 or later (later when forks were recorded in between).
        after = max(0, turn - first + 1)
        for record in await self.store.read_stream(campaign.campaign_id, after_version=after):
            if _turn_of(record) == turn:
                event = decode([record])[0]
                return event if isinstance(event, TurnAdvanced) else None
        return None

    async def _started_world(self, campaign: Campaign) -> WorldState:
        for record in await self.store.read_stream(campaign.campaign_id):
            if record.event_type == CampaignStarted.event_type:
                event = decode([record])[0]
                if isinstance(event, CampaignStarted):
                    return event.world
        raise BadRequest(f"campaign {campaign.name!r} has not started; start it first")

    async def world_at(self, campaign_ref: str, turn: int) -> WorldState:
        """The world as it stood after ``turn`` (turn 0: as the campaign began)."""
        return (await self._turn_event_at(campaign_ref, turn))[1]

    async def _turn_event_at(
        self, campaign_ref: str, turn: int
    ) -> tuple[Segment, WorldState, TurnAdvanced | None]:
        segments = await self.timeline(campaign_ref)
        current = segments[-1].last_turn
        if not 0 <= turn <= current:
            raise BadRequest(
                f"campaign {segments[-1].campaign.name!r} has turns 0..{current}, not {turn}"
            )
        if turn == 0:
            return segments[0], await self._started_world(segments[0].campaign), None
        segment = next(s for s in segments if s.holds(turn))
        event = await self._turn_record(segment.campaign, turn)
        if event is None:
            raise BadRequest(
                f"turn {turn} is missing from campaign {segment.campaign_id}; the log is damaged"
            )
        return segment, event.world, event

    # ------------------------------------------------------------ fork and reroll

    async def fork_campaign(
        self,
        campaign_ref: str,
        at_turn: int,
        *,
        name: str | None = None,
        seed: int | None = None,
    ) -> CampaignView:
        """A new campaign whose history is ``campaign_ref``'s up to ``at_turn``, then its own.

        The fork reuses the parent's personas (their decisions are kept per campaign), starts
        from the world as it stood after ``at_turn`` and keeps the parent's seed unless ``seed``
        is given. Nothing of the parent's history is copied: the fork reads it by reference.
        """
        self.campaigns.require_actor("fork campaigns")
        parent = await self.campaigns.get(campaign_ref)
        if parent.world is None:
            raise BadRequest(f"campaign {parent.name!r} has not started, so it cannot be forked")
        low = parent.forked_at_turn or 0
        if not low <= at_turn <= parent.current_turn:
            raise BadRequest(
                f"campaign {parent.name!r} can be forked at turns {low}..{parent.current_turn}, "
                f"not at turn {at_turn}"
            )
        if at_turn == parent.current_turn:
            world = parent.world
        elif at_turn == low:
            world = await self._started_world(parent)
        else:
            event = await self._turn_record(parent, at_turn)
            if event is None:
                raise BadRequest(f"turn {at_turn} is missing from campaign {parent.campaign_id}")
            world = event.world
        child_id = str(uuid.uuid4())
        at = self.clock.now_iso()
        forked = parent.fork(child_id, at_turn, at)
        created = parent.child_created(child_id, at_turn, at, name=name)
        if seed is not None:
            created = [event.model_copy(update={"seed": seed}) for event in created]
        child = Campaign.from_events(created)
        started = child.start(world, at)
        meta = {"actor": "player", "command": "fork", "causation_id": parent.campaign_id}
        await self.store.append(
            [
                StreamAppend(
                    parent.campaign_id, CAMPAIGN_STREAM, parent.version, encode(forked, meta)
                ),
                StreamAppend(child_id, CAMPAIGN_STREAM, 0, encode([*created, *started], meta)),
            ]
        )
        for event in started:
            child.apply(event)
        # A new fork has decided nothing yet: its view needs no decision statistics (reading
        # them would scan every persona's whole history).
        return self.campaigns._view(child)

    async def reroll(
        self,
        campaign_ref: str,
        *,
        seed: int | None = None,
        offline: bool = False,
        on_fork: Callable[[str], None] | None = None,
    ) -> RerollResult:
        """Play the campaign's last turn again with another seed, as a fork of the turn before.

        The original keeps its turn; the reroll is a new campaign. Both stay playable: the
        player picks which branch to carry on with. ``on_fork`` is told the new campaign's id
        before its turn is played (a front end shows its human personas' choices by it).
        """
        self.campaigns.require_actor("reroll turns")
        parent = await self.campaigns.get(campaign_ref)
        turn = parent.current_turn
        if turn <= (parent.forked_at_turn or 0) or parent.last_ledger is None:
            raise BadRequest(
                f"campaign {parent.name!r} has played no turn of its own yet; play one to reroll it"
            )
        new_seed = (
            seed if seed is not None else _derived_seed(parent.seed, turn, len(parent.children))
        )
        if new_seed == parent.seed and seed is None:
            new_seed += 1
        name = f"{parent.name[:80]} (reroll of turn {turn})"
        fork = await self.fork_campaign(parent.campaign_id, turn - 1, name=name, seed=new_seed)
        if on_fork is not None:
            on_fork(fork.campaign_id)
        played = await self.campaigns.advance(fork.campaign_id, turns=1, offline=offline)
        return RerollResult(
            turn=turn,
            original=await self.campaigns.show(parent.campaign_id),
            original_turn=parent.last_ledger,
            reroll=played.view,
            reroll_turn=played.ledgers[0],
            seed=new_seed,
        )

    # ------------------------------------------------------------ family tree

    async def family(self, campaign_ref: str) -> FamilyNode:
        """The whole family tree the campaign belongs to, from its root."""
        root = (await self.lineage(campaign_ref))[0]
        return await self._node(root, set())

    async def _node(self, campaign: Campaign, seen: set[str]) -> FamilyNode:
        seen.add(campaign.campaign_id)
        children = []
        for child_id in campaign.children:
            if child_id in seen:
                continue
            try:
                child = await self.campaigns.get(child_id)
            except Exception:  # a child stream that was never written (crash between appends)
                continue
            children.append(await self._node(child, seen))
        return FamilyNode(
            campaign_id=campaign.campaign_id,
            name=campaign.name,
            status=campaign.status,
            turns=campaign.current_turn,
            seed=campaign.seed,
            forked_at_turn=campaign.forked_at_turn,
            children=tuple(children),
        )

    # ------------------------------------------------------------ inspect a turn

    async def turn_state(self, campaign_ref: str, turn: int) -> TurnState:
        """World, ledger, each persona's knowledge and decision as they were after ``turn``."""
        segments = await self.timeline(campaign_ref)
        leaf = segments[-1].campaign
        segment, world, event = await self._turn_event_at(leaf.campaign_id, turn)
        decisions: dict[str, DecisionView] = {}
        if turn > 0:
            for pid in leaf.participant_ids:
                found = await self._decision(pid, segment.campaign_id, turn)
                if found is not None:
                    decisions[pid] = found
        recorded = event.state_hash if event is not None else None
        hash_ok = None
        if event is not None and recorded is not None:
            hash_ok = state_hash(event.world, event.ledger) == recorded
        places = {loc.id: loc.name for loc in leaf.brief.locations}
        personas = tuple(
            PersonaAtTurn(
                persona_id=p.persona_id,
                name=p.name,
                location=places.get(world.positions.get(p.persona_id, ""))
                or world.positions.get(p.persona_id),
                knowledge=world.knowledge.get(p.persona_id, ()),
                perceptions=world.perceptions.get(p.persona_id, ()),
                trust=dict(world.trust.get(p.persona_id, {})),
                decision=decisions.get(p.persona_id),
            )
            for p in leaf.participants
        )
        return TurnState(
            campaign_id=leaf.campaign_id,
            source_campaign_id=segment.campaign_id,
            turn=turn,
            current_turn=leaf.current_turn,
            world=world,
            ledger=event.ledger if event is not None else None,
            state_hash=recorded,
            hash_ok=hash_ok,
            personas=personas,
        )

    async def _decision(self, persona_id: str, campaign_id: str, turn: int) -> DecisionView | None:
        try:
            records = await self.store.read_stream(persona_id)
        except StreamNotFound:
            return None
        for record in records:
            if (
                record.event_type == DecisionRecorded.event_type
                and record.payload.get("campaign_id") == campaign_id
                and record.payload.get("turn") == turn
            ):
                event = decode([record])[0]
                if isinstance(event, DecisionRecorded):
                    return DecisionView(
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
        return None

    # ------------------------------------------------------------ replay

    async def replay(self, campaign_ref: str) -> ReplayReport:
        """Re-run the campaign from its creation events and check every turn's state hash."""
        segments = await self.timeline(campaign_ref)
        leaf = segments[-1].campaign
        streams = {s.campaign_id: await self._read_stream(s) for s in segments}
        ids = set(streams)
        decisions, sheets = await self._read_personas(leaf.participant_ids, ids)
        replay = _Replay(self.tenant_id, decisions, sheets)
        try:
            replay.run(segments, streams)
        except DivergenceFound as found:
            return ReplayReport(
                campaign_id=leaf.campaign_id,
                turns=leaf.current_turn,
                replayed=replay.replayed,
                verified=False,
                divergent_turn=found.turn,
                campaign_of_divergence=found.campaign_id,
                reason=found.reason,
                unrecorded_turns=tuple(replay.unrecorded),
                recomputed_decisions=replay.recomputed,
                recorded_decisions=replay.from_record,
                segments=tuple(s.campaign_id for s in segments),
            )
        return ReplayReport(
            campaign_id=leaf.campaign_id,
            turns=leaf.current_turn,
            replayed=replay.replayed,
            verified=True,
            final_hash=replay.last_hash,
            unrecorded_turns=tuple(replay.unrecorded),
            recomputed_decisions=replay.recomputed,
            recorded_decisions=replay.from_record,
            segments=tuple(s.campaign_id for s in segments),
        )

    async def _read_stream(self, segment: Segment) -> _Stream:
        records = await self.store.read_stream(segment.campaign_id)
        head: list[DomainEvent] = decode(
            [r for r in records if r.event_type in ("CampaignCreated", "CampaignStarted")]
        )
        created = next((e for e in head if isinstance(e, CampaignCreated)), None)
        if created is None:
            raise BadRequest(f"campaign {segment.campaign_id} has no CampaignCreated")
        started = next((e for e in head if isinstance(e, CampaignStarted)), None)
        wanted = [r for r in records if (t := _turn_of(r)) is not None and segment.holds(t)]
        turns = {}
        for event in decode(wanted):
            if isinstance(event, TurnAdvanced):
                turns[event.ledger.turn_number] = event
        return _Stream(created, started, turns)

    async def _read_personas(
        self, persona_ids: Sequence[str], campaign_ids: set[str]
    ) -> tuple[dict[tuple[str, int, str], DecisionRecorded], dict[str, CharacterSheet]]:
        decisions: dict[tuple[str, int, str], DecisionRecorded] = {}
        sheets: dict[str, CharacterSheet] = {}
        for pid in persona_ids:
            try:
                records = await self.store.read_stream(pid)
            except StreamNotFound:
                continue
            wanted = [
                r
                for r in records
                if r.event_type == CharacterSheetBound.event_type
                or (
                    r.event_type == DecisionRecorded.event_type
                    and r.payload.get("campaign_id") in campaign_ids
                )
            ]
            for event in decode(wanted):
                if isinstance(event, CharacterSheetBound):
                    sheets[event.sheet_hash] = event.sheet
                    sheets[f"latest:{pid}"] = event.sheet
                elif isinstance(event, DecisionRecorded):
                    decisions[(event.campaign_id, event.turn, pid)] = event
        return decisions, sheets


class _Replay:
    """The replay loop (pure: everything it reads was loaded before it starts)."""

    def __init__(
        self,
        tenant_id: str,
        decisions: dict[tuple[str, int, str], DecisionRecorded],
        sheets: dict[str, CharacterSheet],
    ) -> None:
        self.tenant_id = tenant_id
        self.decisions = decisions
        self.sheets = sheets
        self.replayed = 0
        self.recomputed = 0
        self.from_record = 0
        self.unrecorded: list[int] = []
        self.last_hash: str | None = None

    def run(self, segments: Sequence[Segment], streams: dict[str, _Stream]) -> None:
        world: WorldState | None = None
        for segment in segments:
            stream = streams[segment.campaign_id]
            created = stream.created
            cid = segment.campaign_id
            if stream.started is None:
                if segment.last_turn > segment.first_turn:
                    raise DivergenceFound(segment.first_turn, cid, "turns without a start")
                return
            names = {p.persona_id: p.name for p in created.participants}
            if world is None:
                world = initial_world(
                    created.brief,
                    tuple(p.persona_id for p in created.participants),
                    created.seed,
                    names=names,
                )
                if state_hash(world) != state_hash(stream.started.world):
                    raise DivergenceFound(
                        0, cid, "the initial world laid out from the brief differs from the record"
                    )
            elif state_hash(world) != state_hash(stream.started.world):
                raise DivergenceFound(
                    segment.first_turn,
                    cid,
                    f"the fork starts from a world that is not the world after turn "
                    f"{segment.first_turn}",
                )
            self.last_hash = state_hash(world)
            for turn in range(segment.first_turn + 1, segment.last_turn + 1):
                world = self._turn(cid, created, stream, world, names, turn)

    def _sheet(self, pid: str, record: DecisionRecorded | None, name: str) -> CharacterSheet:
        if record is not None and record.sheet_hash in self.sheets:
            return self.sheets[record.sheet_hash]
        return self.sheets.get(f"latest:{pid}") or CharacterSheet(name=name)

    def _turn(
        self,
        cid: str,
        created: CampaignCreated,
        stream: _Stream,
        world: WorldState,
        names: dict[str, str],
        turn: int,
    ) -> WorldState:
        event = stream.turns.get(turn)
        if event is None:
            raise DivergenceFound(turn, cid, f"turn {turn} is missing from the log")
        records = {
            p.persona_id: self.decisions.get((cid, turn, p.persona_id))
            for p in created.participants
        }
        sheets = {
            p.persona_id: self._sheet(p.persona_id, records[p.persona_id], p.name)
            for p in created.participants
        }
        decisions: dict[str, Decision] = {}
        for participant in created.participants:
            pid = participant.persona_id
            record = records[pid]
            if record is None:
                raise DivergenceFound(
                    turn, cid, f"no decision of {participant.name} is recorded for turn {turn}"
                )
            context = build_context(
                campaign_id=cid,
                tenant_id=self.tenant_id,
                seed=created.seed,
                turn=turn,
                persona_id=pid,
                sheet=sheets[pid],
                world=world,
                brief=created.brief,
                names=names,
            )
            provenance = record.decision.provenance
            if provenance.source == "offline" and provenance.fallback_reason is None:
                decision = decide_offline(context)
                if (decision.action, decision.target, decision.reasoning) != (
                    record.decision.action,
                    record.decision.target,
                    record.decision.reasoning,
                ):
                    raise DivergenceFound(
                        turn,
                        cid,
                        f"the offline policy now has {participant.name} "
                        f"{decision.action.value} {decision.target or ''}".rstrip()
                        + f", but the record says {record.decision.action.value}",
                    )
                self.recomputed += 1
            else:
                if record.context_text != describe_context(context):
                    raise DivergenceFound(
                        turn,
                        cid,
                        f"{participant.name} was shown a different context on turn {turn} "
                        "than the replay rebuilds",
                    )
                decision = record.decision
                self.from_record += 1
            decisions[pid] = decision
        ledger = event.ledger
        resolution = resolve_turn(
            world=world,
            brief=created.brief,
            decisions=decisions,
            sheets=sheets,
            names=names,
            seed=created.seed,
            turn=turn,
            timestamp=ledger.timestamp,
            duration_seconds=ledger.duration_seconds,
        )
        replayed = resolution.state_hash
        stored = state_hash(event.world, event.ledger)
        recorded = event.state_hash
        if recorded is None:
            self.unrecorded.append(turn)
            recorded = stored
        if stored != recorded:
            raise DivergenceFound(
                turn, cid, f"the stored turn {turn} does not match the state hash recorded with it"
            )
        if replayed != recorded:
            raise DivergenceFound(
                turn, cid, f"replaying turn {turn} gives a different state than was recorded"
            )
        self.replayed += 1
        self.last_hash = replayed
        return resolution.world
