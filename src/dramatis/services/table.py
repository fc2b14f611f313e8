"""Shared play: several sessions (possibly on several hosts) at one campaign's table.

Everything goes through the event store, so every process sees the same table:
- a session joins a campaign's table (``PlayerJoined``) and may take control of one persona
  (``SeatTaken``); a persona has at most one controller; leaving releases the seat;
- a player calls the next turn (``TurnCalled``, with a deadline); each controller chooses one of
  its persona's options (``ChoiceMade``);
- the turn is resolved when every controlled persona has chosen or the deadline has passed: the
  players' choices are used, a controller who did not choose has the persona's fallback policy act
  (the ledger says so), and uncontrolled personas act by their own brain.

The calling session resolves its call; if it is gone (or stalled), any other acting session
resolves it once the deadline and a short grace period have passed. The store's expected
versions make sure a turn is played once, whoever gets there first.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dramatis.domain.context import DecisionContext
from dramatis.domain.events import DomainEvent
from dramatis.domain.ledger import Decision, Provenance
from dramatis.domain.table import Role, Table
from dramatis.ports import Clock, ConcurrencyError, EventStore, StreamAppend, StreamNotFound
from dramatis.services.campaigns import CampaignService
from dramatis.services.codec import decode, encode
from dramatis.services.errors import BadRequest, PermissionDenied
from dramatis.services.views import CampaignView, PlayResult

TABLE_STREAM = "table"
COMMAND_RETRIES = 20  # another session changed the table meanwhile: reload and try again


def table_stream_id(campaign_id: str) -> str:
    """The id of a campaign's table stream."""
    return f"table-{campaign_id}"


def parse_time(value: str) -> datetime:
    """A stored UTC ISO 8601 time as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def format_time(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class SeatView:
    """One persona at the table: who controls it and whether it has chosen this turn."""

    persona_id: str
    name: str
    brain: str
    controller: str | None  # the controlling player, or None (its brain acts)
    mine: bool
    chosen: bool  # chose for the open call
    waiting: bool  # controlled and not chosen while a turn is called


@dataclass(frozen=True)
class PresenceView:
    """A session at the table."""

    player: str
    role: Role
    you: bool


@dataclass(frozen=True)
class CallView:
    """The turn being called: who asked, until when, who is still to choose."""

    turn: int
    called_by: str
    deadline: str
    seconds_left: float
    timeout_seconds: float
    waiting_for: tuple[str, ...]  # persona names


@dataclass(frozen=True)
class TableView:
    """What a session's screen shows of the table."""

    campaign: CampaignView
    players: tuple[PresenceView, ...]
    seats: tuple[SeatView, ...]
    call: CallView | None  # the open call, if a turn is waiting to be played
    my_persona: str | None
    my_choice: str | None  # the label this session chose for the open call

    @property
    def can_choose(self) -> bool:
        return self.call is not None and self.my_persona is not None and self.my_choice is None


class TableService:
    """Shared play for one session: its player, role and session id are bound at construction."""

    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        campaigns: CampaignService,
        *,
        player: str,
        role: Role,
        session_id: str | None = None,
        timeout_seconds: float = 60.0,
        takeover_grace_seconds: float = 2.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.campaigns = campaigns
        self.player = player
        self.role: Role = role
        self.session_id = session_id or uuid.uuid4().hex
        self.timeout_seconds = timeout_seconds
        self.takeover_grace_seconds = takeover_grace_seconds
        self._tables: dict[str, Table] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # ------------------------------------------------------------------ queries

    async def view(self, campaign_ref: str) -> TableView:
        """The table of a campaign as it stands now."""
        campaign = await self.campaigns.show(campaign_ref)
        table = await self._load(campaign.campaign_id)
        return self._view(campaign, table)

    async def my_options(self, campaign_ref: str) -> DecisionContext | None:
        """The context (with options) of this session's persona while it is to choose."""
        view = await self.view(campaign_ref)
        if not view.can_choose or view.my_persona is None:
            return None
        contexts = await self.campaigns.next_contexts(view.campaign.campaign_id)
        return contexts.get(view.my_persona)

    # ------------------------------------------------------------------ commands

    async def join(self, campaign_ref: str) -> TableView:
        """Sit down at a campaign's table (as a player, an operator or a watcher)."""
        campaign_id = await self.campaigns.resolve_id(campaign_ref)
        await self._command(
            campaign_id,
            lambda t: t.join(self.player, self.session_id, self.role, self.clock.now_iso()),
        )
        return await self.view(campaign_id)

    async def leave(self, campaign_ref: str, reason: str = "left the table") -> None:
        """Leave a campaign's table, releasing the persona this session controls."""
        campaign_id = await self.campaigns.resolve_id(campaign_ref)
        await self._leave(campaign_id, self.session_id, reason)

    async def leave_session(
        self, session_id: str | None = None, reason: str = "disconnected"
    ) -> int:
        """Remove a session (this one by default) from every table of the tenant; returns how
        many tables it was at. The SSH host calls this when a connection ends, however it ended."""
        session = session_id or self.session_id
        return await self._leave_where(lambda candidate: candidate == session, reason)

    async def leave_host(self, host_tag: str, reason: str = "its host restarted") -> int:
        """Remove every session a host started (ids ``{host_tag}.…``) from every table. A host
        calls this as it starts: none of its earlier sessions can still be alive, even if it
        crashed before it could say they left."""
        prefix = f"{host_tag}."
        return await self._leave_where(lambda candidate: candidate.startswith(prefix), reason)

    async def _leave_where(self, matches: Callable[[str], bool], reason: str) -> int:
        left = 0
        for stream_id in await self.store.list_streams(TABLE_STREAM):
            campaign_id = stream_id.removeprefix("table-")
            table = await self._load(campaign_id)
            sessions = set(table.present) | {seat.session_id for seat in table.seats.values()}
            leaving = sorted(session for session in sessions if matches(session))
            for session in leaving:
                await self._leave(campaign_id, session, reason)
            left += bool(leaving)
        return left

    async def take(self, campaign_ref: str, persona_id: str) -> TableView:
        """Take control of a persona (letting go of the one this session controlled)."""
        self._require_player("take control of a persona")
        campaign = await self.campaigns.show(campaign_ref)
        if campaign.status != "active":
            raise BadRequest(f"{campaign.name} is {campaign.status}; nobody controls its personas")
        names = {p.persona_id: p.name for p in campaign.personas}
        now = self.clock.now_iso()
        await self._command(
            campaign.campaign_id,
            lambda t: [
                *t.join(self.player, self.session_id, self.role, now),
                *t.take_seat(persona_id, self.player, self.session_id, names, now),
            ],
        )
        return await self.view(campaign.campaign_id)

    async def release(self, campaign_ref: str) -> TableView:
        """Let go of the persona this session controls; its own brain acts again."""
        campaign_id = await self.campaigns.resolve_id(campaign_ref)
        reason = f"{self.player} let go"
        await self._command(
            campaign_id, lambda t: t.release_seat(self.session_id, reason, self.clock.now_iso())
        )
        return await self.view(campaign_id)

    async def call_turn(self, campaign_ref: str) -> TableView:
        """Ask for the next turn; controllers then have ``timeout_seconds`` to choose."""
        self._require_player("play turns")
        campaign = await self.campaigns.show(campaign_ref)
        if campaign.status != "active":
            raise BadRequest(
                f"{campaign.name} is {campaign.status} after {campaign.turns} turns; "
                "it takes no more turns"
            )
        now = self.clock.now_iso()
        deadline = format_time(parse_time(now) + timedelta(seconds=self.timeout_seconds))
        turn = campaign.turns + 1
        await self._command(
            campaign.campaign_id,
            lambda t: [
                *t.join(self.player, self.session_id, self.role, now),
                *t.call_turn(
                    turn, self.player, self.session_id, deadline, self.timeout_seconds, now
                ),
            ],
        )
        return await self.view(campaign.campaign_id)

    async def choose(self, campaign_ref: str, option_index: int, reasoning: str = "") -> str:
        """Choose this session's persona's action for the called turn; returns its label."""
        self._require_player("choose actions")
        context = await self.my_options(campaign_ref)
        if context is None:
            view = await self.view(campaign_ref)
            if view.my_persona is None:
                raise BadRequest("take control of a persona first (press t on the Play screen)")
            if view.call is None:
                raise BadRequest("no turn is waiting for choices; press space to call one")
            raise BadRequest(f"you already chose for turn {view.call.turn}")
        if not 0 <= option_index < len(context.options):
            raise BadRequest(f"choose an option from 1 to {len(context.options)}")
        option = context.options[option_index]
        table = await self._load(context.campaign_id)
        called_at = table.call.called_at if table.call is not None else self.clock.now_iso()
        now = self.clock.now_iso()
        taken = max(0.0, (parse_time(now) - parse_time(called_at)).total_seconds())
        await self._command(
            context.campaign_id,
            lambda t: t.choose(
                context.turn,
                self.session_id,
                option_index,
                option.action,
                option.target,
                option.label,
                now,
                reasoning=reasoning.strip(),
                seconds_taken=taken,
            ),
        )
        return option.label

    async def resolve_due(self, campaign_ref: str) -> PlayResult | None:
        """Play the called turn if it is due (everyone chose, or the deadline passed); None when
        there is nothing to do yet, or another session played it first."""
        if self.role == "viewer":
            return None
        view = await self.view(campaign_ref)
        call = view.call
        if call is None:
            return None
        table = await self._load(view.campaign.campaign_id)
        caller_here = table.call is not None and table.call.session_id in table.present
        mine = table.call is not None and table.call.session_id == self.session_id
        overdue = call.seconds_left <= 0
        if not mine and caller_here:
            # Leave the turn to its caller, unless the caller is stalled past the deadline.
            if call.seconds_left > -self.takeover_grace_seconds:
                return None
        elif call.waiting_for and not overdue:
            return None
        decided, fallback = self._plan(view, table, call)
        result = await self.campaigns.advance(
            view.campaign.campaign_id,
            turns=1,
            at_turn=call.turn,
            decided=decided,
            fallback=fallback,
        )
        return result if result.ledgers else None

    # ------------------------------------------------------------------ internals

    def _plan(
        self, view: TableView, table: Table, call: CallView
    ) -> tuple[dict[str, Decision], dict[str, str]]:
        """Players' choices, and the reasons the fallback acts for the others who need one."""
        decided: dict[str, Decision] = {}
        fallback: dict[str, str] = {}
        for seat in view.seats:
            choice = table.choices.get(seat.persona_id)
            if choice is not None:
                decided[seat.persona_id] = Decision(
                    action=choice.action,
                    target=choice.target,
                    reasoning=choice.reasoning
                    or f"{choice.player} chose for {seat.name}: {choice.label}.",
                    provenance=Provenance(source="human", latency_ms=choice.seconds_taken * 1000),
                )
            elif seat.controller is not None:
                fallback[seat.persona_id] = (
                    f"{seat.controller} did not choose within {call.timeout_seconds:g} s; "
                    "the fallback policy acted"
                )
            elif seat.brain == "human":
                fallback[seat.persona_id] = (
                    f"no player controls {seat.name}; the fallback policy acted"
                )
        return decided, fallback

    def _view(self, campaign: CampaignView, table: Table) -> TableView:
        call = table.call
        open_call = (
            call is not None and call.turn == campaign.turns + 1 and campaign.status == "active"
        )
        seats: list[SeatView] = []
        waiting: list[str] = []
        for p in campaign.personas:
            seat = table.seats.get(p.persona_id)
            chosen = open_call and p.persona_id in table.choices
            is_waiting = open_call and seat is not None and not chosen
            if is_waiting:
                waiting.append(p.name)
            seats.append(
                SeatView(
                    persona_id=p.persona_id,
                    name=p.name,
                    brain=p.brain,
                    controller=seat.player if seat is not None else None,
                    mine=seat is not None and seat.session_id == self.session_id,
                    chosen=chosen,
                    waiting=is_waiting,
                )
            )
        call_view = None
        if open_call and call is not None:
            left = (parse_time(call.deadline) - parse_time(self.clock.now_iso())).total_seconds()
            call_view = CallView(
                turn=call.turn,
                called_by=call.player,
                deadline=call.deadline,
                seconds_left=left,
                timeout_seconds=call.timeout_seconds,
                waiting_for=tuple(waiting),
            )
        mine = table.seat_of(self.session_id)
        my_choice = None
        if call_view is not None and mine is not None:
            made = table.choices.get(mine.persona_id)
            my_choice = made.label if made is not None else None
        players = tuple(
            PresenceView(p.player, p.role, p.session_id == self.session_id)
            for p in sorted(table.present.values(), key=lambda p: (p.player, p.session_id))
        )
        return TableView(
            campaign=campaign,
            players=players,
            seats=tuple(seats),
            call=call_view,
            my_persona=mine.persona_id if mine is not None else None,
            my_choice=my_choice,
        )

    def _require_player(self, what: str) -> None:
        if self.role == "viewer":
            raise PermissionDenied(f"viewers watch; they cannot {what}")

    async def _leave(self, campaign_id: str, session_id: str, reason: str) -> None:
        await self._command(
            campaign_id, lambda t: t.leave(session_id, reason, self.clock.now_iso())
        )

    async def _load(self, campaign_id: str) -> Table:
        """The table, brought up to date from the events after the cached version.

        A screen refresh and a command of the same session may use one table at once: loads
        and commands take the campaign's lock, so no event is applied twice."""
        async with self._lock(campaign_id):
            return await self._catch_up(campaign_id)

    def _lock(self, campaign_id: str) -> asyncio.Lock:
        return self._locks.setdefault(campaign_id, asyncio.Lock())

    async def _catch_up(self, campaign_id: str) -> Table:
        table = self._tables.setdefault(campaign_id, Table(campaign_id))
        try:
            records = await self.store.read_stream(
                table_stream_id(campaign_id), after_version=table.version
            )
        except StreamNotFound:
            records = []
        for event in decode(records):
            table.apply(event)
        return table

    async def _command(
        self, campaign_id: str, decide: Callable[[Table], Sequence[DomainEvent]]
    ) -> None:
        """Run a table command against the latest table; retried when another session wrote
        to the table in between (the command is re-checked against what it wrote)."""
        meta = {"actor": self.player, "role": self.role, "session_id": self.session_id}
        async with self._lock(campaign_id):
            for attempt in range(COMMAND_RETRIES + 1):
                table = await self._catch_up(campaign_id)
                events = list(decide(table))
                if not events:
                    return
                append = StreamAppend(
                    table_stream_id(campaign_id), TABLE_STREAM, table.version, encode(events, meta)
                )
                try:
                    await self.store.append([append])
                except ConcurrencyError:
                    if attempt == COMMAND_RETRIES:
                        raise
                    continue
                for event in events:
                    table.apply(event)
                return
