"""The table of a shared campaign: who is at it, who controls which persona, and the call for
the next turn with the choices made so far.

One ``Table`` stream per campaign. Commands check the invariants (a persona has at most one
controller; a session controls at most one persona; only a persona's controller chooses for it,
once per turn, while that turn is called) and return events; ``apply`` folds them in.
The campaign's own stream stays the source of truth for turns: a call is open while the campaign
has not yet played the called turn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import Field

from dramatis.domain.actions import ActionKind
from dramatis.domain.errors import InvalidCommand, InvariantViolation, StreamMismatch
from dramatis.domain.events import DomainEvent, Timestamp, register_event

Role = Literal["operator", "player", "viewer"]

# ---------------------------------------------------------------- errors


class SeatTakenByOther(InvariantViolation):
    """The persona is already controlled by another player."""


class NotYourSeat(InvariantViolation):
    """A session acted for a persona it does not control."""


class NoOpenCall(InvariantViolation):
    """A choice came for a turn that is not (or no longer) waiting for choices."""


class AlreadyChosen(InvariantViolation):
    """The persona's controller already chose for this turn."""


# ---------------------------------------------------------------- events


class TableEvent(DomainEvent):
    """Base of the table stream's events."""

    campaign_id: str = Field(min_length=1)
    at: Timestamp


@register_event
class PlayerJoined(TableEvent):
    """A session of ``player`` sat down at the table (to play or to watch)."""

    event_type: ClassVar[str] = "PlayerJoined"
    player: str = Field(min_length=1)
    session_id: str = Field(min_length=1)
    role: Role


@register_event
class PlayerLeft(TableEvent):
    """A session left the table (it quit, changed campaign, or its connection dropped)."""

    event_type: ClassVar[str] = "PlayerLeft"
    player: str = Field(min_length=1)
    session_id: str = Field(min_length=1)
    reason: str


@register_event
class SeatTaken(TableEvent):
    """``player`` (in ``session_id``) took control of ``persona_id``."""

    event_type: ClassVar[str] = "SeatTaken"
    persona_id: str = Field(min_length=1)
    player: str = Field(min_length=1)
    session_id: str = Field(min_length=1)


@register_event
class SeatReleased(TableEvent):
    """``persona_id`` has no controller any more; its own brain acts again."""

    event_type: ClassVar[str] = "SeatReleased"
    persona_id: str = Field(min_length=1)
    player: str = Field(min_length=1)
    reason: str


@register_event
class TurnCalled(TableEvent):
    """``player`` asked for ``turn`` to be played; controllers choose until ``deadline``."""

    event_type: ClassVar[str] = "TurnCalled"
    turn: int = Field(ge=1)
    player: str = Field(min_length=1)
    session_id: str = Field(min_length=1)
    deadline: Timestamp
    timeout_seconds: float = Field(gt=0)


@register_event
class ChoiceMade(TableEvent):
    """A controller chose ``persona_id``'s action for ``turn`` (option ``option_index``)."""

    event_type: ClassVar[str] = "ChoiceMade"
    turn: int = Field(ge=1)
    persona_id: str = Field(min_length=1)
    player: str = Field(min_length=1)
    session_id: str = Field(min_length=1)
    option_index: int = Field(ge=0)
    action: ActionKind
    target: str | None = None
    label: str
    reasoning: str = ""
    seconds_taken: float = Field(default=0.0, ge=0)


# ---------------------------------------------------------------- state


@dataclass(frozen=True)
class Presence:
    """A session at the table."""

    player: str
    session_id: str
    role: Role


@dataclass(frozen=True)
class Seat:
    """Who controls a persona."""

    persona_id: str
    player: str
    session_id: str


@dataclass(frozen=True)
class Call:
    """The latest turn asked for."""

    turn: int
    player: str
    session_id: str
    deadline: str
    timeout_seconds: float
    called_at: str


class Table:
    """The table aggregate of one campaign (stream ``table:{campaign_id}``)."""

    def __init__(self, campaign_id: str) -> None:
        self.campaign_id = campaign_id
        self.version = 0
        self.present: dict[str, Presence] = {}  # session id -> presence
        self.seats: dict[str, Seat] = {}  # persona id -> seat
        self.call: Call | None = None
        self.choices: dict[str, ChoiceMade] = {}  # persona id -> choice for call.turn

    # ------------------------------------------------------------ queries

    def seat_of(self, session_id: str) -> Seat | None:
        """The persona this session controls, if any."""
        return next((s for s in self.seats.values() if s.session_id == session_id), None)

    def waiting_for(self, turn: int) -> list[Seat]:
        """Controlled personas that have not chosen for ``turn`` yet."""
        chosen = self.choices if self.call is not None and self.call.turn == turn else {}
        return [seat for pid, seat in self.seats.items() if pid not in chosen]

    # ------------------------------------------------------------ commands

    def join(self, player: str, session_id: str, role: Role, at: str) -> list[DomainEvent]:
        present = self.present.get(session_id)
        if present is not None and present.player == player and present.role == role:
            return []
        joined = PlayerJoined(
            campaign_id=self.campaign_id, player=player, session_id=session_id, role=role, at=at
        )
        return [joined]

    def leave(self, session_id: str, reason: str, at: str) -> list[DomainEvent]:
        """Release the session's seat and remove it from the table (nothing if it is not here)."""
        events: list[DomainEvent] = []
        for seat in list(self.seats.values()):
            if seat.session_id == session_id:
                events.append(self._released(seat, reason, at))
        present = self.present.get(session_id)
        if present is not None:
            events.append(
                PlayerLeft(
                    campaign_id=self.campaign_id,
                    player=present.player,
                    session_id=session_id,
                    reason=reason,
                    at=at,
                )
            )
        return events

    def take_seat(
        self, persona_id: str, player: str, session_id: str, names: dict[str, str], at: str
    ) -> list[DomainEvent]:
        """Control ``persona_id``; a session that controlled another persona lets it go.

        The same player may take over its own seat from another session (a reconnect), and
        anyone may take a seat whose session has left the table (its host went down)."""
        if persona_id not in names:
            raise InvalidCommand(f"no persona {persona_id!r} in this campaign")
        seat = self.seats.get(persona_id)
        if seat is not None and seat.session_id == session_id:
            return []
        if seat is not None and seat.player != player and seat.session_id in self.present:
            raise SeatTakenByOther(
                f"{names[persona_id]} is controlled by {seat.player}; choose another persona"
            )
        events: list[DomainEvent] = []
        if seat is not None:
            events.append(self._released(seat, "taken over from another session", at))
        mine = self.seat_of(session_id)
        if mine is not None:
            events.append(self._released(mine, f"{player} switched to {names[persona_id]}", at))
        events.append(
            SeatTaken(
                campaign_id=self.campaign_id,
                persona_id=persona_id,
                player=player,
                session_id=session_id,
                at=at,
            )
        )
        return events

    def release_seat(self, session_id: str, reason: str, at: str) -> list[DomainEvent]:
        """Let go of the persona this session controls (nothing if it controls none)."""
        seat = self.seat_of(session_id)
        return [] if seat is None else [self._released(seat, reason, at)]

    def call_turn(
        self,
        turn: int,
        player: str,
        session_id: str,
        deadline: str,
        timeout_seconds: float,
        at: str,
    ) -> list[DomainEvent]:
        """Ask for ``turn``; nothing if it is already called (two players pressed at once)."""
        if self.call is not None and self.call.turn >= turn:
            return []
        return [
            TurnCalled(
                campaign_id=self.campaign_id,
                turn=turn,
                player=player,
                session_id=session_id,
                deadline=deadline,
                timeout_seconds=timeout_seconds,
                at=at,
            )
        ]

    def choose(
        self,
        turn: int,
        session_id: str,
        option_index: int,
        action: ActionKind,
        target: str | None,
        label: str,
        at: str,
        *,
        reasoning: str = "",
        seconds_taken: float = 0.0,
    ) -> list[DomainEvent]:
        seat = self.seat_of(session_id)
        if seat is None:
            raise NotYourSeat("take control of a persona first (press t on the Play screen)")
        if self.call is None or self.call.turn != turn:
            raise NoOpenCall(f"turn {turn} is not waiting for choices")
        if seat.persona_id in self.choices:
            raise AlreadyChosen(f"you already chose for turn {turn}")
        return [
            ChoiceMade(
                campaign_id=self.campaign_id,
                turn=turn,
                persona_id=seat.persona_id,
                player=seat.player,
                session_id=session_id,
                option_index=option_index,
                action=action,
                target=target,
                label=label,
                reasoning=reasoning,
                seconds_taken=max(0.0, seconds_taken),
                at=at,
            )
        ]

    def _released(self, seat: Seat, reason: str, at: str) -> SeatReleased:
        return SeatReleased(
            campaign_id=self.campaign_id,
            persona_id=seat.persona_id,
            player=seat.player,
            reason=reason,
            at=at,
        )

    # ------------------------------------------------------------ state

    def apply(self, event: DomainEvent) -> None:
        if not isinstance(event, TableEvent) or event.campaign_id != self.campaign_id:
            raise StreamMismatch(f"{event.event_type} does not belong to this campaign's table")
        if isinstance(event, PlayerJoined):
            self.present[event.session_id] = Presence(event.player, event.session_id, event.role)
        elif isinstance(event, PlayerLeft):
            self.present.pop(event.session_id, None)
        elif isinstance(event, SeatTaken):
            self.seats[event.persona_id] = Seat(event.persona_id, event.player, event.session_id)
        elif isinstance(event, SeatReleased):
            self.seats.pop(event.persona_id, None)
        elif isinstance(event, TurnCalled):
            self.call = Call(
                event.turn,
                event.player,
                event.session_id,
                event.deadline,
                event.timeout_seconds,
                event.at,
            )
            self.choices = {}
        elif (
            isinstance(event, ChoiceMade) and self.call is not None and event.turn == self.call.turn
        ):
            self.choices[event.persona_id] = event
        self.version += 1

    @classmethod
    def from_events(cls, campaign_id: str, events: Iterable[DomainEvent]) -> Table:
        table = cls(campaign_id)
        for event in events:
            table.apply(event)
        return table
