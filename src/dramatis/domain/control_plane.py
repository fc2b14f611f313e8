"""The platform context: the ControlPlane aggregate (one per tenant) and its events.

It holds feature flags and their rollout stages, the SLO catalogue with recent measurements,
runbooks, incident contacts and pointers to architecture decision records. Every flag change names
an owner and a rollback plan; every SLO names where its measurements come from.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dramatis.domain.errors import (
    IncompatibleSnapshot,
    InvalidCommand,
    InvariantViolation,
    StreamMismatch,
)
from dramatis.domain.events import DomainEvent, Timestamp, register_event, require_timestamp

CONTROL_PLANE_STREAM = "control-plane"
"""The stream id of a tenant's control plane (the event store scopes streams by tenant)."""

SLO_RECENT_LIMIT = 50
"""How many recent measurements the aggregate keeps per SLO."""

_STAGE = re.compile(r"^(off|internal|on|percent:(\d{1,2}))$")
_FLAG_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")

# ---------------------------------------------------------------- errors


class InvalidFlagStage(InvalidCommand):
    """A flag stage is not off, internal, percent:N (1..99) or on."""


class InvalidFlagName(InvalidCommand):
    """A flag name is empty or not a lowercase identifier."""


class UnsafeToggle(InvariantViolation):
    """A flag change without an owner or a rollback plan."""


class InvalidSLO(InvariantViolation):
    """An SLO without a name or a measurement source, or a measurement that is not a number."""


class InvalidRunbook(InvalidCommand):
    """A runbook with an empty name or empty text."""


class InvalidContacts(InvalidCommand):
    """Incident contacts or ADR pointers with blank entries."""


# ---------------------------------------------------------------- value objects


def parse_stage(stage: str) -> str:
    """Return the normalised rollout stage, or raise ``InvalidFlagStage`` saying what is allowed."""
    normalised = stage.strip().lower()
    match = _STAGE.match(normalised)
    if match is None or (match.group(2) is not None and not 1 <= int(match.group(2)) <= 99):
        raise InvalidFlagStage(
            f"flag stage {stage!r} is not valid; use off, internal, percent:N (N from 1 to 99) "
            "or on"
        )
    if match.group(2) is not None:
        return f"percent:{int(match.group(2))}"
    return normalised


class Flag(BaseModel):
    """A feature flag at a rollout stage, with the person accountable and the way back."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    stage: str
    owner: str
    rollback_plan: str
    updated_at: str

    @property
    def percent(self) -> int:
        """The share of subjects the flag is on for: 0 (off/internal), N (percent:N), 100 (on)."""
        if self.stage == "on":
            return 100
        if self.stage.startswith("percent:"):
            return int(self.stage.split(":", 1)[1])
        return 0

    def is_enabled_for(self, subject: str, *, internal: bool = False) -> bool:
        """Whether the flag is on for ``subject`` (e.g. a tenant or persona id).

        ``internal`` subjects see ``internal`` flags. A percent rollout is deterministic: a subject
        falls in a stable bucket 0..99 (sha256 of flag name and subject), so it keeps its answer
        as the percentage grows.
        """
        if self.stage == "on":
            return True
        if self.stage == "internal":
            return internal
        if self.stage.startswith("percent:"):
            return internal or rollout_bucket(self.name, subject) < self.percent
        return False


def rollout_bucket(flag: str, subject: str) -> int:
    """The stable bucket (0..99) of ``subject`` in percent rollouts of ``flag``."""
    digest = hashlib.sha256(f"{flag}\x00{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


class SLO(BaseModel):
    """A service level objective: values must stay ``comparator`` ``objective`` (in ``unit``).

    ``comparator`` "<" means lower is better (e.g. turn latency p95 < 2000 ms); ">" means higher is
    better (e.g. offline fallback success > 0.99). ``measurement_source`` names where the values
    come from, so anyone can check them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    comparator: Literal["<", ">"]
    objective: float
    unit: str
    measurement_source: str

    def is_breached_by(self, value: float) -> bool:
        """True when ``value`` misses the objective."""
        if self.comparator == "<":
            return not value < self.objective
        return not value > self.objective


class SLOReading(BaseModel):
    """One recorded measurement of an SLO."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float
    at: str
    breached: bool


class SLOStatus(BaseModel):
    """An SLO's definition with its recent readings and how often it was breached."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    definition: SLO
    recent: tuple[SLOReading, ...] = ()
    breach_count: int = 0
    reading_count: int = 0

    @property
    def last(self) -> SLOReading | None:
        """The latest reading, if any."""
        return self.recent[-1] if self.recent else None


class Runbook(BaseModel):
    """What to do when something goes wrong, as markdown."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    markdown: str
    updated_at: str


class Contact(BaseModel):
    """Someone to reach during an incident, their role and how to reach them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    role: str
    channel: str  # e.g. an e-mail address, a pager handle or a chat room


# ---------------------------------------------------------------- events


class ControlPlaneEvent(DomainEvent):
    """Base of the control plane's events: each says when it happened."""

    at: Timestamp


@register_event
class FlagUpdated(ControlPlaneEvent):
    """Flag ``flag`` moved to ``stage`` (from ``previous_stage``), with owner and rollback plan."""

    event_type: ClassVar[str] = "FlagUpdated"
    schema_version: ClassVar[int] = 1

    flag: str = Field(min_length=1)
    stage: str
    owner: str = Field(min_length=1)
    rollback_plan: str = Field(min_length=1)
    reason: str = ""
    previous_stage: str | None = None


@register_event
class SLORecorded(ControlPlaneEvent):
    """A measurement of SLO ``name``; ``definition`` is set when the SLO is new or redefined."""

    event_type: ClassVar[str] = "SLORecorded"
    schema_version: ClassVar[int] = 1

    name: str = Field(min_length=1)
    value: float
    definition: SLO | None = None


@register_event
class SLOBreached(ControlPlaneEvent):
    """A measurement of SLO ``name`` missed its objective."""

    event_type: ClassVar[str] = "SLOBreached"
    schema_version: ClassVar[int] = 1

    name: str = Field(min_length=1)
    value: float
    comparator: Literal["<", ">"]
    objective: float
    unit: str


@register_event
class RunbookUpdated(ControlPlaneEvent):
    """Runbook ``name`` was written or rewritten."""

    event_type: ClassVar[str] = "RunbookUpdated"
    schema_version: ClassVar[int] = 1

    name: str = Field(min_length=1)
    markdown: str = Field(min_length=1)


@register_event
class ContactsUpdated(ControlPlaneEvent):
    """The incident contacts and ADR pointers were replaced."""

    event_type: ClassVar[str] = "ContactsUpdated"
    schema_version: ClassVar[int] = 1

    contacts: tuple[Contact, ...]
    adr_pointers: tuple[str, ...]


CONTROL_PLANE_EVENTS: tuple[type[DomainEvent], ...] = (
    FlagUpdated,
    SLORecorded,
    SLOBreached,
    RunbookUpdated,
    ContactsUpdated,
)


# ---------------------------------------------------------------- snapshot shape


class _ControlPlaneSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flags: dict[str, Flag]
    slos: dict[str, SLOStatus]
    runbooks: dict[str, Runbook]
    contacts: tuple[Contact, ...]
    adr_pointers: tuple[str, ...]
    updated_at: str
    version: int


# ---------------------------------------------------------------- aggregate


class ControlPlane:
    """A tenant's control plane: commands return new events, ``apply`` folds one into state."""

    stream_id: ClassVar[str] = CONTROL_PLANE_STREAM

    def __init__(self) -> None:
        self.flags: dict[str, Flag] = {}
        self.slos: dict[str, SLOStatus] = {}
        self.runbooks: dict[str, Runbook] = {}
        self.contacts: tuple[Contact, ...] = ()
        self.adr_pointers: tuple[str, ...] = ()
        self.updated_at: str = ""
        self.version: int = 0

    # ------------------------------------------------------------ queries

    def flag_stage(self, name: str) -> str:
        """The stage of flag ``name`` ("off" for a flag never set)."""
        flag = self.flags.get(name)
        return flag.stage if flag is not None else "off"

    def is_enabled(self, name: str, subject: str, *, internal: bool = False) -> bool:
        """Whether flag ``name`` is on for ``subject``; flags never set are off."""
        flag = self.flags.get(name)
        return flag is not None and flag.is_enabled_for(subject, internal=internal)

    # ------------------------------------------------------------ commands

    def toggle_flag(
        self, name: str, stage: str, owner: str, rollback_plan: str, reason: str, at: str
    ) -> list[DomainEvent]:
        """Move flag ``name`` to ``stage``; needs a named owner and a rollback plan."""
        require_timestamp(at)
        clean_name = name.strip()
        if not _FLAG_NAME.match(clean_name):
            raise InvalidFlagName(
                f"flag name {name!r} is not valid; use lowercase letters, digits, '.', '_' or '-'"
            )
        normalised = parse_stage(stage)
        if not owner.strip():
            raise UnsafeToggle(
                f"flag {clean_name!r} cannot change without an owner; name the person accountable"
            )
        if not rollback_plan.strip():
            raise UnsafeToggle(
                f"flag {clean_name!r} cannot change without a rollback plan; say how to undo it"
            )
        previous = self.flags.get(clean_name)
        return [
            FlagUpdated(
                flag=clean_name,
                stage=normalised,
                owner=owner.strip(),
                rollback_plan=rollback_plan.strip(),
                reason=reason.strip(),
                previous_stage=previous.stage if previous is not None else None,
                at=at,
            )
        ]

    def record_slo(self, slo: SLO, value: float, at: str) -> list[DomainEvent]:
        """Record a measurement window's value; adds ``SLOBreached`` when ``value`` misses the
        objective and the previous reading met it (once per breach, not once per reading)."""
        require_timestamp(at)
        if not slo.name.strip():
            raise InvalidSLO("an SLO needs a name")
        if not slo.measurement_source.strip():
            raise InvalidSLO(
                f"SLO {slo.name!r} does not name its measurement source; say where its values "
                "come from (a metric, a log query, a benchmark)"
            )
        if not math.isfinite(slo.objective):
            raise InvalidSLO(f"SLO {slo.name!r} has objective {slo.objective}; give a number")
        if not math.isfinite(value):
            raise InvalidSLO(f"a measurement of SLO {slo.name!r} is {value}; record a number")
        known = self.slos.get(slo.name)
        definition = None if known is not None and known.definition == slo else slo
        events: list[DomainEvent] = [
            SLORecorded(name=slo.name, value=value, definition=definition, at=at)
        ]
        was_breached = known is not None and known.last is not None and known.last.breached
        if slo.is_breached_by(value) and not was_breached:
            # One breach per excursion: only the move from meeting the objective to missing it.
            events.append(
                SLOBreached(
                    name=slo.name,
                    value=value,
                    comparator=slo.comparator,
                    objective=slo.objective,
                    unit=slo.unit,
                    at=at,
                )
            )
        return events

    def register_runbook(self, name: str, markdown: str, at: str) -> list[DomainEvent]:
        """Write (or rewrite) runbook ``name``."""
        require_timestamp(at)
        if not name.strip():
            raise InvalidRunbook("a runbook needs a name, e.g. 'event store is locked'")
        if not markdown.strip():
            raise InvalidRunbook(f"runbook {name.strip()!r} is empty; write its steps")
        return [RunbookUpdated(name=name.strip(), markdown=markdown, at=at)]

    def set_contacts(
        self, contacts: Sequence[Contact], adr_pointers: Sequence[str], at: str
    ) -> list[DomainEvent]:
        """Replace the incident contacts and the ADR pointers."""
        require_timestamp(at)
        for contact in contacts:
            if not contact.name.strip() or not contact.channel.strip():
                raise InvalidContacts(
                    f"contact {contact.name or '(unnamed)'!r} needs a name and a channel to "
                    "reach them"
                )
        pointers = tuple(pointer.strip() for pointer in adr_pointers)
        if any(not pointer for pointer in pointers):
            raise InvalidContacts("an ADR pointer is blank; give the path or URL of the record")
        return [ContactsUpdated(contacts=tuple(contacts), adr_pointers=pointers, at=at)]

    # ------------------------------------------------------------ folding

    def apply(self, event: DomainEvent) -> None:
        """Fold one event into state."""
        if isinstance(event, FlagUpdated):
            self.flags = {
                **self.flags,
                event.flag: Flag(
                    name=event.flag,
                    stage=event.stage,
                    owner=event.owner,
                    rollback_plan=event.rollback_plan,
                    updated_at=event.at,
                ),
            }
        elif isinstance(event, SLORecorded):
            self._on_slo_recorded(event)
        elif isinstance(event, SLOBreached):
            status = self.slos.get(event.name)
            if status is None:
                raise StreamMismatch(f"SLO {event.name!r} breached before it was ever recorded")
            self.slos = {
                **self.slos,
                event.name: status.model_copy(update={"breach_count": status.breach_count + 1}),
            }
        elif isinstance(event, RunbookUpdated):
            runbook = Runbook(name=event.name, markdown=event.markdown, updated_at=event.at)
            self.runbooks = {**self.runbooks, event.name: runbook}
        elif isinstance(event, ContactsUpdated):
            self.contacts = event.contacts
            self.adr_pointers = event.adr_pointers
        else:
            raise StreamMismatch(
                f"{event.event_type} is not a control plane event and cannot be applied to it"
            )
        self.updated_at = event.at
        self.version += 1

    def _on_slo_recorded(self, event: SLORecorded) -> None:
        status = self.slos.get(event.name)
        definition = event.definition or (status.definition if status is not None else None)
        if definition is None:
            raise StreamMismatch(
                f"SLO {event.name!r} was measured before it was defined; the stream is incomplete"
            )
        reading = SLOReading(
            value=event.value, at=event.at, breached=definition.is_breached_by(event.value)
        )
        previous = status.recent if status is not None else ()
        self.slos = {
            **self.slos,
            event.name: SLOStatus(
                definition=definition,
                recent=(*previous, reading)[-SLO_RECENT_LIMIT:],
                breach_count=status.breach_count if status is not None else 0,
                reading_count=(status.reading_count if status is not None else 0) + 1,
            ),
        }

    # ------------------------------------------------------------ snapshots

    def to_snapshot(self) -> dict[str, Any]:
        """The aggregate state as a JSON-ready dict."""
        fields = {name: getattr(self, name) for name in _ControlPlaneSnapshot.model_fields}
        return _ControlPlaneSnapshot(**fields).model_dump(mode="json")

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> ControlPlane:
        """Rebuild the aggregate from ``to_snapshot`` output."""
        try:
            state = _ControlPlaneSnapshot.model_validate(data)
        except ValidationError as exc:
            raise IncompatibleSnapshot(
                f"control plane snapshot does not fit this version ({exc.error_count()} "
                "problems); replay the stream from its first event instead"
            ) from exc
        plane = cls()
        for name in _ControlPlaneSnapshot.model_fields:
            setattr(plane, name, getattr(state, name))
        return plane

    @classmethod
    def from_events(
        cls, events: Iterable[DomainEvent], snapshot: Mapping[str, Any] | None = None
    ) -> ControlPlane:
        """Fold ``events`` (those after the snapshot, if one is given) into a control plane."""
        plane = cls.from_snapshot(snapshot) if snapshot is not None else cls()
        for event in events:
            plane.apply(event)
        return plane

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ControlPlane):
            return NotImplemented
        return self.to_snapshot() == other.to_snapshot()

    def __repr__(self) -> str:
        return (
            f"ControlPlane(flags={len(self.flags)}, slos={len(self.slos)}, "
            f"runbooks={len(self.runbooks)}, version={self.version})"
        )
