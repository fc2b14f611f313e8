"""The simulation context: the Campaign aggregate and its events.

A campaign is a stream of events: ``CampaignCreated`` (draft), ``CampaignStarted`` (active, with the
initial world), one ``TurnAdvanced`` per resolved turn (carrying the ledger and the world after it,
so replay needs no dice), then ``CampaignCompleted`` and/or ``CampaignArchived``. A fork writes
``CampaignForked`` on the parent and starts the child stream with a ``CampaignCreated`` that names
its parent and the turn it branched at; the child's turns continue from that turn.

The aggregate keeps only what commands need plus a small display tail, never the whole timeline, so
loading a long campaign from a snapshot costs the same as loading a short one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dramatis.domain.campaign_file import BrainKind, ChroniclerSpec
from dramatis.domain.errors import (
    CampaignClosed,
    IncompatibleSnapshot,
    InvalidCommand,
    InvariantViolation,
    StreamMismatch,
    TooFewPersonas,
)
from dramatis.domain.events import (
    DomainEvent,
    Timestamp,
    register_event,
    require_timestamp,
    upcaster,
)
from dramatis.domain.fingerprint import state_hash
from dramatis.domain.ledger import TurnLedger
from dramatis.domain.world import WorldBrief, WorldState

CampaignStatus = Literal["draft", "active", "complete", "archived"]

TENSION_HISTORY_LIMIT = 200
"""How many recent tension values the aggregate keeps for display."""

NAME_MAX_LENGTH = 120

# ---------------------------------------------------------------- errors


class CampaignNotFound(InvalidCommand):
    """A command was sent to a campaign stream that has no ``CampaignCreated`` yet."""


class CampaignNotStarted(InvariantViolation):
    """The campaign is still a draft: it must be started before it takes turns."""


class CampaignAlreadyStarted(InvariantViolation):
    """``start`` was sent to a campaign that is no longer a draft."""


class CampaignAlreadyArchived(CampaignClosed):
    """``archive`` was sent to a campaign that is already archived."""


class DuplicateParticipant(InvariantViolation):
    """The same persona was listed twice among a campaign's participants."""


class UnknownParticipant(InvariantViolation):
    """A turn ledger names a persona that does not take part in the campaign."""


class TurnOutOfOrder(InvariantViolation):
    """A turn's number does not follow the campaign's current turn."""


class WorldOutOfStep(InvariantViolation):
    """A world state does not belong to the turn it is recorded with."""


class InvalidCampaignSettings(InvalidCommand):
    """A campaign's name, ids, turn limit or fork settings are malformed."""


class ForkOutOfRange(InvalidCommand):
    """A fork was requested at a turn the campaign has not played."""


# ---------------------------------------------------------------- value objects


class Participant(BaseModel):
    """A persona taking part in a campaign, and the brain that drives it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    persona_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    brain: BrainKind = "offline"


# ---------------------------------------------------------------- events


class CampaignEvent(DomainEvent):
    """Base of the campaign stream's events: each names its campaign and when it happened."""

    campaign_id: str
    at: Timestamp


@register_event
class CampaignCreated(CampaignEvent):
    """A new campaign stream (draft). For a fork, ``forked_from``/``forked_at_turn`` are set.

    v2 added ``chronicler``; v1 payloads are upcast with the default ``ChroniclerSpec``.
    """

    event_type: ClassVar[str] = "CampaignCreated"
    schema_version: ClassVar[int] = 2

    tenant_id: str
    name: str
    description: str = ""
    turn_limit: int | None = None
    seed: int = 0
    participants: tuple[Participant, ...]
    brief: WorldBrief = WorldBrief()
    chronicler: ChroniclerSpec
    forked_from: str | None = None
    forked_at_turn: int | None = None


@upcaster("CampaignCreated", 1)
def _campaign_created_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 had no chronicler: such campaigns were narrated by the default chronicler."""
    upgraded = dict(payload)
    upgraded.setdefault("chronicler", ChroniclerSpec().model_dump(mode="json"))
    return upgraded


@register_event
class CampaignStarted(CampaignEvent):
    """The campaign became active with its initial world."""

    event_type: ClassVar[str] = "CampaignStarted"
    schema_version: ClassVar[int] = 1

    world: WorldState


@register_event
class TurnAdvanced(CampaignEvent):
    """One resolved turn: its immutable ledger, the world after it and their state hash.

    v2 added ``state_hash`` (``domain.fingerprint.state_hash`` of the world and the ledger);
    v1 payloads are upcast with ``None``: "not recorded", which replay verification reports.
    """

    event_type: ClassVar[str] = "TurnAdvanced"
    schema_version: ClassVar[int] = 2

    ledger: TurnLedger
    world: WorldState
    state_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


@upcaster("TurnAdvanced", 1)
def _turn_advanced_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 recorded no state hash: such turns can be replayed but not verified."""
    upgraded = dict(payload)
    upgraded.setdefault("state_hash", None)
    return upgraded


@register_event
class CampaignCompleted(CampaignEvent):
    """The campaign ended after ``turn``; ``reason`` says why in words a reader understands."""

    event_type: ClassVar[str] = "CampaignCompleted"
    schema_version: ClassVar[int] = 1

    turn: int = Field(ge=0)
    reason: str = Field(min_length=1)


@register_event
class CampaignArchived(CampaignEvent):
    """The campaign was archived (from ``previous_status``); it takes no more turns."""

    event_type: ClassVar[str] = "CampaignArchived"
    schema_version: ClassVar[int] = 1

    previous_status: Literal["draft", "active", "complete"]


@register_event
class CampaignForked(CampaignEvent):
    """Written on the parent stream: ``child_campaign_id`` branched from it after ``at_turn``."""

    event_type: ClassVar[str] = "CampaignForked"
    schema_version: ClassVar[int] = 1

    child_campaign_id: str
    at_turn: int = Field(ge=0)


CAMPAIGN_EVENTS: tuple[type[DomainEvent], ...] = (
    CampaignCreated,
    CampaignStarted,
    TurnAdvanced,
    CampaignCompleted,
    CampaignArchived,
    CampaignForked,
)


# ---------------------------------------------------------------- snapshot shape


class _CampaignSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    campaign_id: str
    tenant_id: str
    name: str
    description: str
    status: CampaignStatus
    turn_limit: int | None
    seed: int
    participants: tuple[Participant, ...]
    brief: WorldBrief
    chronicler: ChroniclerSpec
    current_turn: int
    world: WorldState | None
    last_ledger: TurnLedger | None
    tension_history: tuple[float, ...]
    created_at: str
    updated_at: str
    forked_from: str | None
    forked_at_turn: int | None
    children: tuple[str, ...]
    completion_reason: str | None
    version: int


# ---------------------------------------------------------------- helpers


def _require_uuid4(value: str, what: str) -> str:
    try:
        parsed = uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        raise InvalidCampaignSettings(
            f"{what} {value!r} is not a UUID; generate one with uuid.uuid4()"
        ) from None
    if parsed.version != 4:
        raise InvalidCampaignSettings(f"{what} {value!r} must be a version-4 UUID (uuid.uuid4())")
    return str(parsed)


def _check_participants(participants: Sequence[Participant]) -> tuple[Participant, ...]:
    result = tuple(participants)
    seen: set[str] = set()
    for participant in result:
        if participant.persona_id in seen:
            raise DuplicateParticipant(
                f"persona {participant.persona_id!r} ({participant.name}) is listed twice; "
                "each persona can take part only once"
            )
        seen.add(participant.persona_id)
    if len(result) < 2:
        raise TooFewPersonas(
            f"a campaign needs at least 2 personas and this one has {len(result)}; "
            "add another persona to the campaign"
        )
    return result


# ---------------------------------------------------------------- aggregate


class Campaign:
    """The Campaign aggregate: commands return new events, ``apply`` folds one event into state."""

    def __init__(self) -> None:
        self.campaign_id: str = ""
        self.tenant_id: str = ""
        self.name: str = ""
        self.description: str = ""
        self.status: CampaignStatus = "draft"
        self.turn_limit: int | None = None
        self.seed: int = 0
        self.participants: tuple[Participant, ...] = ()
        self.brief: WorldBrief = WorldBrief()
        self.chronicler: ChroniclerSpec = ChroniclerSpec()
        self.current_turn: int = 0
        self.world: WorldState | None = None
        self.last_ledger: TurnLedger | None = None
        self.tension_history: tuple[float, ...] = ()
        self.created_at: str = ""
        self.updated_at: str = ""
        self.forked_from: str | None = None
        self.forked_at_turn: int | None = None
        self.children: tuple[str, ...] = ()
        self.completion_reason: str | None = None
        self.version: int = 0

    # ------------------------------------------------------------ queries

    @property
    def exists(self) -> bool:
        """True once the stream has its ``CampaignCreated``."""
        return self.version > 0

    @property
    def participant_ids(self) -> tuple[str, ...]:
        """The persona ids taking part, in the order they were listed."""
        return tuple(p.persona_id for p in self.participants)

    @property
    def turns_remaining(self) -> int | None:
        """Turns left before the turn limit, or None without a limit."""
        if self.turn_limit is None:
            return None
        return max(0, self.turn_limit - self.current_turn)

    # ------------------------------------------------------------ commands

    @classmethod
    def create(
        cls,
        *,
        campaign_id: str,
        tenant_id: str,
        name: str,
        participants: Sequence[Participant],
        at: str,
        description: str = "",
        turn_limit: int | None = None,
        seed: int = 0,
        brief: WorldBrief | None = None,
        chronicler: ChroniclerSpec | None = None,
        forked_from: str | None = None,
        forked_at_turn: int | None = None,
    ) -> list[DomainEvent]:
        """The events that open a new campaign stream (a fork when ``forked_from`` is given)."""
        require_timestamp(at)
        campaign_id = _require_uuid4(campaign_id, "campaign id")
        if not tenant_id.strip():
            raise InvalidCampaignSettings("a campaign needs a tenant id; bind one before creating")
        clean_name = name.strip()
        if not clean_name:
            raise InvalidCampaignSettings(
                "a campaign needs a name; give it one such as 'Salt Road'"
            )
        if len(clean_name) > NAME_MAX_LENGTH:
            raise InvalidCampaignSettings(
                f"campaign name is {len(clean_name)} characters; keep it to {NAME_MAX_LENGTH}"
            )
        if turn_limit is not None and turn_limit < 1:
            raise InvalidCampaignSettings(
                f"turn_limit is {turn_limit}; it must be at least 1 (or left out for no limit)"
            )
        if (forked_from is None) != (forked_at_turn is None):
            raise InvalidCampaignSettings(
                "a fork needs both forked_from and forked_at_turn; give both or neither"
            )
        if forked_from is not None and forked_at_turn is not None:
            forked_from = _require_uuid4(forked_from, "parent campaign id")
            if forked_from == campaign_id:
                raise InvalidCampaignSettings("a campaign cannot be forked from itself")
            if forked_at_turn < 0:
                raise InvalidCampaignSettings(
                    f"forked_at_turn is {forked_at_turn}; forks start at turn 0 or later"
                )
            if turn_limit is not None and turn_limit <= forked_at_turn:
                raise InvalidCampaignSettings(
                    f"the fork starts after turn {forked_at_turn} but its turn_limit is "
                    f"{turn_limit}; raise the limit above {forked_at_turn} to play on"
                )
        return [
            CampaignCreated(
                campaign_id=campaign_id,
                tenant_id=tenant_id,
                name=clean_name,
                description=description,
                turn_limit=turn_limit,
                seed=seed,
                participants=_check_participants(participants),
                brief=brief if brief is not None else WorldBrief(),
                chronicler=chronicler if chronicler is not None else ChroniclerSpec(),
                forked_from=forked_from,
                forked_at_turn=forked_at_turn,
                at=at,
            )
        ]

    def start(self, initial_world: WorldState, at: str) -> list[DomainEvent]:
        """Make a draft campaign active with its initial world (a fork: the world at its fork)."""
        require_timestamp(at)
        self._require_exists()
        if self.status != "draft":
            raise CampaignAlreadyStarted(
                f"campaign {self.name!r} is already {self.status}; it can be started only once"
            )
        if initial_world.turn != self.current_turn:
            raise WorldOutOfStep(
                f"campaign {self.name!r} starts after turn {self.current_turn} but the world given "
                f"is the world of turn {initial_world.turn}; pass the world of turn "
                f"{self.current_turn}"
            )
        return [CampaignStarted(campaign_id=self.campaign_id, world=initial_world, at=at)]

    def advance_turn(
        self, ledger: TurnLedger, world_after: WorldState, at: str
    ) -> list[DomainEvent]:
        """Record one resolved turn; also completes the campaign at its turn limit or story end."""
        require_timestamp(at)
        self._require_exists()
        self.require_playable()
        expected = self.current_turn + 1
        if ledger.turn_number != expected:
            raise TurnOutOfOrder(
                f"campaign {self.name!r} is at turn {self.current_turn}, so the next turn is "
                f"{expected}, not {ledger.turn_number}; turns run contiguously from 1"
            )
        if world_after.turn != ledger.turn_number:
            raise WorldOutOfStep(
                f"the world given with turn {ledger.turn_number} says it is turn "
                f"{world_after.turn}; pass the world as it stands after turn {ledger.turn_number}"
            )
        members = set(self.participant_ids)
        for entry in ledger.action_log:
            if entry.persona_id not in members:
                raise UnknownParticipant(
                    f"turn {ledger.turn_number} records an action by {entry.persona_name!r} "
                    f"({entry.persona_id}), who is not in campaign {self.name!r}"
                )
        events: list[DomainEvent] = [
            TurnAdvanced(
                campaign_id=self.campaign_id,
                ledger=ledger,
                world=world_after,
                state_hash=state_hash(world_after, ledger),
                at=at,
            )
        ]
        reason: str | None = None
        if self.turn_limit is not None and ledger.turn_number >= self.turn_limit:
            reason = f"the turn limit of {self.turn_limit} was reached"
        elif world_after.complete:
            reason = "the story reached its end"
        if reason is not None:
            events.append(
                CampaignCompleted(
                    campaign_id=self.campaign_id, turn=ledger.turn_number, reason=reason, at=at
                )
            )
        return events

    def complete(self, reason: str, at: str) -> list[DomainEvent]:
        """End an active campaign now, for ``reason``."""
        require_timestamp(at)
        self._require_exists()
        self.require_playable()
        if not reason.strip():
            raise InvalidCommand("say why the campaign is being completed (reason is empty)")
        return [
            CampaignCompleted(
                campaign_id=self.campaign_id, turn=self.current_turn, reason=reason.strip(), at=at
            )
        ]

    def archive(self, at: str) -> list[DomainEvent]:
        """Archive the campaign from any status but archived."""
        require_timestamp(at)
        self._require_exists()
        if self.status == "archived":
            raise CampaignAlreadyArchived(
                f"campaign {self.name!r} is already archived; there is nothing more to do"
            )
        return [CampaignArchived(campaign_id=self.campaign_id, previous_status=self.status, at=at)]

    def fork(self, child_campaign_id: str, at_turn: int, at: str) -> list[DomainEvent]:
        """The ``CampaignForked`` event for this (parent) stream; see ``child_created``."""
        require_timestamp(at)
        child_campaign_id = self._check_fork(child_campaign_id, at_turn)
        return [
            CampaignForked(
                campaign_id=self.campaign_id,
                child_campaign_id=child_campaign_id,
                at_turn=at_turn,
                at=at,
            )
        ]

    def child_created(
        self, child_campaign_id: str, at_turn: int, at: str, name: str | None = None
    ) -> list[DomainEvent]:
        """The ``CampaignCreated`` opening a fork's stream, with this campaign's settings.

        The child keeps the parent's turn limit when it leaves turns to play after ``at_turn``,
        and has no limit otherwise; call ``Campaign.create`` directly to choose another.
        """
        require_timestamp(at)
        child_campaign_id = self._check_fork(child_campaign_id, at_turn)
        child_name = name
        if child_name is None:
            suffix = f" (fork at turn {at_turn})"
            child_name = self.name[: NAME_MAX_LENGTH - len(suffix)] + suffix
        turn_limit = self.turn_limit
        if turn_limit is not None and turn_limit <= at_turn:
            turn_limit = None
        return Campaign.create(
            campaign_id=child_campaign_id,
            tenant_id=self.tenant_id,
            name=child_name,
            participants=self.participants,
            at=at,
            description=self.description,
            turn_limit=turn_limit,
            seed=self.seed,
            brief=self.brief,
            chronicler=self.chronicler,
            forked_from=self.campaign_id,
            forked_at_turn=at_turn,
        )

    # ------------------------------------------------------------ folding

    def apply(self, event: DomainEvent) -> None:
        """Fold one event into state. Rejects events of another campaign or out of sequence."""
        if not isinstance(event, CampaignEvent):
            raise StreamMismatch(
                f"{event.event_type} is not a campaign event and cannot be applied to one"
            )
        if isinstance(event, CampaignCreated):
            if self.exists:
                raise StreamMismatch(
                    f"campaign {self.campaign_id} was already created; a stream has one "
                    "CampaignCreated"
                )
            self._on_created(event)
        elif not self.exists:
            raise StreamMismatch(
                f"{event.event_type} came before CampaignCreated; the stream is out of order"
            )
        elif event.campaign_id != self.campaign_id:
            raise StreamMismatch(
                f"{event.event_type} belongs to campaign {event.campaign_id}, "
                f"not {self.campaign_id}"
            )
        elif isinstance(event, CampaignStarted):
            self._on_started(event)
        elif isinstance(event, TurnAdvanced):
            self._on_turn(event)
        elif isinstance(event, CampaignCompleted):
            self.status = "complete"
            self.completion_reason = event.reason
        elif isinstance(event, CampaignArchived):
            self.status = "archived"
        elif isinstance(event, CampaignForked):
            self.children = (*self.children, event.child_campaign_id)
        self.updated_at = event.at
        self.version += 1

    def _on_created(self, event: CampaignCreated) -> None:
        self.campaign_id = event.campaign_id
        self.tenant_id = event.tenant_id
        self.name = event.name
        self.description = event.description
        self.status = "draft"
        self.turn_limit = event.turn_limit
        self.seed = event.seed
        self.participants = event.participants
        self.brief = event.brief
        self.chronicler = event.chronicler
        self.forked_from = event.forked_from
        self.forked_at_turn = event.forked_at_turn
        self.current_turn = event.forked_at_turn or 0
        self.created_at = event.at
        self.updated_at = event.at

    def _on_started(self, event: CampaignStarted) -> None:
        if self.status != "draft":
            raise StreamMismatch(f"campaign {self.campaign_id} was started twice")
        self.status = "active"
        self.world = event.world
        self.tension_history = (event.world.tension,)

    def _on_turn(self, event: TurnAdvanced) -> None:
        if self.status != "active":
            raise StreamMismatch(
                f"turn {event.ledger.turn_number} recorded while campaign "
                f"{self.campaign_id} was {self.status}"
            )
        if event.ledger.turn_number != self.current_turn + 1:
            raise StreamMismatch(
                f"turn {event.ledger.turn_number} follows turn {self.current_turn} in campaign "
                f"{self.campaign_id}; the stream has a gap"
            )
        self.current_turn = event.ledger.turn_number
        self.last_ledger = event.ledger
        self.world = event.world
        self.tension_history = (*self.tension_history, event.world.tension)[-TENSION_HISTORY_LIMIT:]

    # ------------------------------------------------------------ snapshots

    def to_snapshot(self) -> dict[str, Any]:
        """The aggregate state as a JSON-ready dict (bounded in size, whatever the turn count)."""
        fields = {name: getattr(self, name) for name in _CampaignSnapshot.model_fields}
        return _CampaignSnapshot(**fields).model_dump(mode="json")

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> Campaign:
        """Rebuild the aggregate from ``to_snapshot`` output."""
        try:
            state = _CampaignSnapshot.model_validate(data)
        except ValidationError as exc:
            raise IncompatibleSnapshot(
                f"campaign snapshot does not fit this version ({exc.error_count()} problems); "
                "replay the stream from its first event instead"
            ) from exc
        campaign = cls()
        for name in _CampaignSnapshot.model_fields:
            setattr(campaign, name, getattr(state, name))
        return campaign

    @classmethod
    def from_events(
        cls, events: Iterable[DomainEvent], snapshot: Mapping[str, Any] | None = None
    ) -> Campaign:
        """Fold ``events`` (those after the snapshot, if one is given) into a campaign."""
        campaign = cls.from_snapshot(snapshot) if snapshot is not None else cls()
        for event in events:
            campaign.apply(event)
        return campaign

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Campaign):
            return NotImplemented
        return self.to_snapshot() == other.to_snapshot()

    def __repr__(self) -> str:
        return (
            f"Campaign(campaign_id={self.campaign_id!r}, name={self.name!r}, "
            f"status={self.status!r}, current_turn={self.current_turn}, version={self.version})"
        )

    # ------------------------------------------------------------ guards

    def _require_exists(self) -> None:
        if not self.exists:
            raise CampaignNotFound(
                "this campaign has not been created; create it with Campaign.create first"
            )

    def require_playable(self) -> None:
        """Raise unless the campaign can take a turn (started, not complete or archived)."""
        if self.status == "draft":
            raise CampaignNotStarted(f"campaign {self.name!r} has not started: start it first")
        if self.status in ("complete", "archived"):
            raise CampaignClosed(
                f"campaign {self.name!r} is {self.status}: it takes no more turns; "
                "fork it to continue"
            )

    def _check_fork(self, child_campaign_id: str, at_turn: int) -> str:
        self._require_exists()
        if self.world is None:
            raise CampaignNotStarted(
                f"campaign {self.name!r} has not started, so there is nothing to fork; "
                "create a new campaign instead"
            )
        child_campaign_id = _require_uuid4(child_campaign_id, "child campaign id")
        if child_campaign_id == self.campaign_id:
            raise InvalidCampaignSettings("a fork needs a new campaign id, not its parent's")
        if child_campaign_id in self.children:
            raise InvalidCampaignSettings(
                f"campaign {child_campaign_id} is already a fork of {self.name!r}; "
                "use a new id for another fork"
            )
        low = self.forked_at_turn or 0
        if not low <= at_turn <= self.current_turn:
            raise ForkOutOfRange(
                f"campaign {self.name!r} can be forked at turns {low}..{self.current_turn}, "
                f"not at turn {at_turn}"
            )
        return child_campaign_id
