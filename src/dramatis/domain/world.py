"""The campaign brief (authored in the campaign file) and the world state it starts.

The brief is the public, documented part of the campaign file format: places, starting tension,
hidden clues, counters and brief events with triggers. ``WorldState`` is what the director changes
every turn; it travels inside ``TurnAdvanced`` so that replaying the log rebuilds it exactly.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Location(_Frozen):
    """A place personas can be in. ``exits`` empty means reachable from everywhere."""

    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1)
    description: str = ""
    exits: tuple[str, ...] = ()
    danger: float = Field(default=0.0, ge=0.0, le=1.0)
    clues: tuple[str, ...] = ()  # hidden here: only a search here finds them (others: anywhere)


class Trigger(_Frozen):
    """When a brief event fires.

    kind = "start": before turn 1; "turn": at turn >= ``turn``; "counter": when counter ``counter``
    reaches ``at_least``; "tension": when tension reaches ``at_least``; "clues": when at least
    ``at_least`` clues have been discovered.
    """

    kind: Literal["start", "turn", "counter", "tension", "clues"]
    turn: int | None = Field(default=None, ge=1)
    counter: str | None = None
    at_least: float | None = None

    @model_validator(mode="after")
    def _check_fields(self) -> Trigger:
        if self.kind == "turn" and self.turn is None:
            raise ValueError("a 'turn' trigger needs turn = N")
        if self.kind == "counter" and (self.counter is None or self.at_least is None):
            raise ValueError("a 'counter' trigger needs counter = NAME and at_least = N")
        if self.kind in ("tension", "clues") and self.at_least is None:
            raise ValueError(f"a '{self.kind}' trigger needs at_least = N")
        return self


class BriefEffect(_Frozen):
    """What a brief event does to the world when it fires."""

    tension: float = Field(default=0.0, ge=-1.0, le=1.0)  # added to tension (clamped to 0..1)
    reveal_clues: tuple[str, ...] = ()  # become discovered and known to the witnesses
    add_clues: tuple[str, ...] = ()  # new hidden clues that searching can now uncover
    counters: dict[str, int] = Field(default_factory=dict)  # added to counters
    danger: dict[str, float] = Field(default_factory=dict)  # location id -> new danger level
    complete: bool = False  # ends the campaign after this turn


class BriefEvent(_Frozen):
    """A scripted beat of the campaign brief, fired once when its trigger holds."""

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)  # narration the chronicler may quote
    trigger: Trigger
    effect: BriefEffect = BriefEffect()
    witnesses: Literal["all", "present"] | str = (
        "all"  # "present" = at ``location``; or a location id
    )
    location: str | None = None


class Objective(_Frozen):
    """A goal counter a persona can ``pursue``: reaching ``target`` is a milestone in the story."""

    name: str = Field(min_length=1)
    description: str = ""
    target: int = Field(default=5, ge=1)
    location: str | None = None  # when set, the objective can only be pursued at this location id


class WorldBrief(_Frozen):
    """The authored world of a campaign file."""

    opening: str = ""
    locations: tuple[Location, ...] = ()
    start_location: str | None = None
    tension: float = Field(default=0.2, ge=0.0, le=1.0)
    clues: tuple[str, ...] = ()  # hidden at the start; searching uncovers them
    resources: dict[str, int] = Field(default_factory=dict)  # shared pool, e.g. {"lamp oil": 3}
    objectives: tuple[Objective, ...] = ()
    events: tuple[BriefEvent, ...] = ()

    @model_validator(mode="after")
    def _check_references(self) -> WorldBrief:
        ids = [loc.id for loc in self.locations]
        if len(set(ids)) != len(ids):
            raise ValueError("location ids must be unique")
        known = set(ids)
        if self.start_location is not None and self.start_location not in known:
            raise ValueError(f"start_location {self.start_location!r} is not a location id")
        for loc in self.locations:
            for exit_id in loc.exits:
                if exit_id not in known:
                    raise ValueError(f"location {loc.id!r} has an exit to unknown {exit_id!r}")
        event_ids = [ev.id for ev in self.events]
        if len(set(event_ids)) != len(event_ids):
            raise ValueError("brief event ids must be unique")
        for ev in self.events:
            for loc_id in ev.effect.danger:
                if loc_id not in known:
                    raise ValueError(
                        f"event {ev.id!r} changes danger of unknown location {loc_id!r}"
                    )
        return self

    @model_validator(mode="after")
    def _check_placements(self) -> WorldBrief:
        known = {loc.id for loc in self.locations}
        clue_names = set(self.clues)
        for ev in self.events:
            clue_names.update(ev.effect.add_clues)
        for loc in self.locations:
            for clue in loc.clues:
                if clue not in clue_names:
                    raise ValueError(
                        f"location {loc.id!r} hides clue {clue!r}, which is not in clues "
                        "or in any event's add_clues"
                    )
        for objective in self.objectives:
            if objective.location is not None and objective.location not in known:
                raise ValueError(
                    f"objective {objective.name!r} is at unknown location {objective.location!r}"
                )
        return self


class WorldState(_Frozen):
    """The state of the shared world after a turn. Small: it rides in every TurnAdvanced event."""

    turn: int = Field(default=0, ge=0)
    tension: float = Field(default=0.2, ge=0.0, le=1.0)
    positions: dict[str, str] = Field(default_factory=dict)  # persona id -> location id
    danger: dict[str, float] = Field(default_factory=dict)  # location id -> 0..1
    hidden_clues: tuple[str, ...] = ()
    discovered_clues: tuple[str, ...] = ()
    resources: dict[str, int] = Field(default_factory=dict)
    counters: dict[str, int] = Field(default_factory=dict)
    trust: dict[str, dict[str, float]] = Field(default_factory=dict)  # a -> b -> -1..1
    knowledge: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # persona id -> clues known
    perceptions: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # what each saw last turn
    fired_events: tuple[str, ...] = ()
    flags: dict[str, float] = Field(default_factory=dict)  # engine bookkeeping (e.g. aid bonuses)
    complete: bool = False
