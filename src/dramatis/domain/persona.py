"""The persona context: the Persona aggregate and its events.

A persona is bound to a canonical character sheet (``CharacterSheetBound``, which carries the sheet
and its sha256 hash) and records every decision it makes (``DecisionRecorded``, which carries the
exact context text it was given, so a decision can be audited later). The aggregate keeps the last
decided turn per campaign, not the decision history: that is read from the events by a query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dramatis.domain.errors import (
    IncompatibleSnapshot,
    InvalidCommand,
    InvariantViolation,
    StreamMismatch,
)
from dramatis.domain.events import DomainEvent, Timestamp, register_event, require_timestamp
from dramatis.domain.ledger import Decision, Outcome
from dramatis.domain.sheet import CharacterSheet

# ---------------------------------------------------------------- errors


class MissingFallbackPolicy(InvariantViolation):
    """A character sheet has no fallback policy for when its brain cannot answer."""


class SheetHashMismatch(InvariantViolation):
    """A ``CharacterSheetBound`` event's hash is not the hash of the sheet it carries."""


class NoSheetBound(InvariantViolation):
    """A decision was recorded for a persona that has no character sheet yet."""


class DecisionOutOfOrder(InvariantViolation):
    """A decision's turn is not after the persona's last decision in that campaign."""


class InvalidPersonaCommand(InvalidCommand):
    """A persona command has a malformed id or turn."""


# ---------------------------------------------------------------- events


class PersonaEvent(DomainEvent):
    """Base of the persona stream's events: each names its persona and when it happened."""

    persona_id: str = Field(min_length=1)
    at: Timestamp


@register_event
class CharacterSheetBound(PersonaEvent):
    """The persona is (re)bound to ``sheet``, whose canonical sha256 is ``sheet_hash``."""

    event_type: ClassVar[str] = "CharacterSheetBound"
    schema_version: ClassVar[int] = 1

    sheet: CharacterSheet
    sheet_hash: str = Field(pattern=r"^[0-9a-f]{64}$")


@register_event
class DecisionRecorded(PersonaEvent):
    """A decision the persona made in ``campaign_id`` on ``turn``, with the context it was shown.

    ``sheet_hash`` is the sheet the persona was bound to when it decided; ``outcome`` is set when
    the decision is recorded together with its resolved turn.
    """

    event_type: ClassVar[str] = "DecisionRecorded"
    schema_version: ClassVar[int] = 1

    campaign_id: str = Field(min_length=1)
    turn: int = Field(ge=1)
    decision: Decision
    context_text: str
    sheet_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    outcome: Outcome | None = None


PERSONA_EVENTS: tuple[type[DomainEvent], ...] = (CharacterSheetBound, DecisionRecorded)


# ---------------------------------------------------------------- snapshot shape


class _PersonaSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    persona_id: str
    sheet: CharacterSheet | None
    sheet_hash: str | None
    bound_at: str | None
    memberships: tuple[str, ...]
    last_turn_by_campaign: dict[str, int]
    decision_count: int
    updated_at: str
    version: int


# ---------------------------------------------------------------- aggregate


class Persona:
    """The Persona aggregate: commands return new events, ``apply`` folds one event into state."""

    def __init__(self) -> None:
        self.persona_id: str = ""
        self.sheet: CharacterSheet | None = None
        self.sheet_hash: str | None = None
        self.bound_at: str | None = None
        self.memberships: tuple[str, ...] = ()
        self.last_turn_by_campaign: dict[str, int] = {}
        self.decision_count: int = 0
        self.updated_at: str = ""
        self.version: int = 0

    @property
    def exists(self) -> bool:
        """True once the stream has its first event."""
        return self.version > 0

    @property
    def name(self) -> str:
        """The display name from the bound sheet (the id while no sheet is bound)."""
        return self.sheet.name if self.sheet is not None else self.persona_id

    # ------------------------------------------------------------ commands

    def ingest_character_sheet(
        self, persona_id: str, sheet: CharacterSheet, at: str
    ) -> list[DomainEvent]:
        """Bind ``sheet`` to the persona (a new one, or rebind an existing one).

        Returns no events when the persona is already bound to an identical sheet.
        """
        require_timestamp(at)
        if not persona_id.strip():
            raise InvalidPersonaCommand("a persona needs an id; give the sheet an id or a name")
        if self.exists and persona_id != self.persona_id:
            raise InvalidPersonaCommand(
                f"this is persona {self.persona_id!r}; a sheet for {persona_id!r} belongs to "
                "another persona"
            )
        if not sheet.fallback_policy.strip():
            raise MissingFallbackPolicy(
                f"the sheet of {sheet.name!r} has no fallback policy; set "
                'fallback_policy = "offline" so the persona can act without its brain'
            )
        sheet_hash = sheet.sheet_hash()
        if sheet_hash == self.sheet_hash:
            return []
        return [
            CharacterSheetBound(persona_id=persona_id, sheet=sheet, sheet_hash=sheet_hash, at=at)
        ]

    def record_decision(
        self,
        campaign_id: str,
        turn: int,
        decision: Decision,
        context_text: str,
        at: str,
        outcome: Outcome | None = None,
    ) -> list[DomainEvent]:
        """Record a decision made on ``turn`` of ``campaign_id`` with the context it was given."""
        require_timestamp(at)
        if self.sheet is None or self.sheet_hash is None:
            raise NoSheetBound(
                f"persona {self.persona_id or '(new)'!r} has no character sheet; "
                "import one before it can decide"
            )
        if not campaign_id.strip():
            raise InvalidPersonaCommand("a decision must name the campaign it was made in")
        if turn < 1:
            raise InvalidPersonaCommand(f"turn {turn} is not a turn; turns are numbered from 1")
        last = self.last_turn_by_campaign.get(campaign_id)
        if last is not None and turn <= last:
            raise DecisionOutOfOrder(
                f"{self.name} already decided turn {last} of campaign {campaign_id}; "
                f"a decision for turn {turn} comes too late: record turn {last + 1} or later"
            )
        return [
            DecisionRecorded(
                persona_id=self.persona_id,
                campaign_id=campaign_id,
                turn=turn,
                decision=decision,
                context_text=context_text,
                sheet_hash=self.sheet_hash,
                outcome=outcome,
                at=at,
            )
        ]

    # ------------------------------------------------------------ folding

    def apply(self, event: DomainEvent) -> None:
        """Fold one event into state. Rejects foreign events and sheets whose hash is wrong."""
        if not isinstance(event, PersonaEvent):
            raise StreamMismatch(
                f"{event.event_type} is not a persona event and cannot be applied to one"
            )
        if self.exists and event.persona_id != self.persona_id:
            raise StreamMismatch(
                f"{event.event_type} belongs to persona {event.persona_id!r}, "
                f"not {self.persona_id!r}"
            )
        if isinstance(event, CharacterSheetBound):
            actual = event.sheet.sheet_hash()
            if actual != event.sheet_hash:
                raise SheetHashMismatch(
                    f"the sheet bound to persona {event.persona_id!r} hashes to {actual[:12]}…, "
                    f"but the event says {event.sheet_hash[:12]}…; the sheet was altered after "
                    "binding: re-import it"
                )
            self.persona_id = event.persona_id
            self.sheet = event.sheet
            self.sheet_hash = event.sheet_hash
            self.bound_at = event.at
        elif isinstance(event, DecisionRecorded):
            if self.sheet is None:
                raise StreamMismatch(
                    f"persona {event.persona_id!r} has a decision before any sheet was bound"
                )
            last = self.last_turn_by_campaign.get(event.campaign_id, 0)
            if event.turn <= last:
                raise StreamMismatch(
                    f"decision for turn {event.turn} of campaign {event.campaign_id} follows "
                    f"turn {last}; the stream is out of order"
                )
            if event.campaign_id not in self.last_turn_by_campaign:
                self.memberships = (*self.memberships, event.campaign_id)
            self.last_turn_by_campaign = {
                **self.last_turn_by_campaign,
                event.campaign_id: event.turn,
            }
            self.decision_count += 1
        else:
            raise StreamMismatch(f"{event.event_type} is not handled by the persona aggregate")
        self.updated_at = event.at
        self.version += 1

    # ------------------------------------------------------------ snapshots

    def to_snapshot(self) -> dict[str, Any]:
        """The aggregate state as a JSON-ready dict."""
        fields = {name: getattr(self, name) for name in _PersonaSnapshot.model_fields}
        return _PersonaSnapshot(**fields).model_dump(mode="json")

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> Persona:
        """Rebuild the aggregate from ``to_snapshot`` output."""
        try:
            state = _PersonaSnapshot.model_validate(data)
        except ValidationError as exc:
            raise IncompatibleSnapshot(
                f"persona snapshot does not fit this version ({exc.error_count()} problems); "
                "replay the stream from its first event instead"
            ) from exc
        if state.sheet is not None and state.sheet.sheet_hash() != state.sheet_hash:
            raise IncompatibleSnapshot(
                f"persona snapshot of {state.persona_id!r} holds a sheet that does not match its "
                "hash; replay the stream from its first event instead"
            )
        persona = cls()
        for name in _PersonaSnapshot.model_fields:
            setattr(persona, name, getattr(state, name))
        return persona

    @classmethod
    def from_events(
        cls, events: Iterable[DomainEvent], snapshot: Mapping[str, Any] | None = None
    ) -> Persona:
        """Fold ``events`` (those after the snapshot, if one is given) into a persona."""
        persona = cls.from_snapshot(snapshot) if snapshot is not None else cls()
        for event in events:
            persona.apply(event)
        return persona

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Persona):
            return NotImplemented
        return self.to_snapshot() == other.to_snapshot()

    def __repr__(self) -> str:
        return (
            f"Persona(persona_id={self.persona_id!r}, name={self.name!r}, "
            f"decisions={self.decision_count}, version={self.version})"
        )
