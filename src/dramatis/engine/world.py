"""The world a brief starts, and the brief events that fire from its state.

``initial_world`` turns a campaign's ``WorldBrief`` into turn 0's ``WorldState``; ``fire_events``
checks every brief event's trigger after a turn's actions and applies the ones that hold, once.
A brief without locations is played in one place, ``FALLBACK_LOCATION``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dramatis.domain.world import BriefEvent, Location, Objective, WorldBrief, WorldState
from dramatis.engine.cast import in_key_order, persona_keys
from dramatis.engine.dice import rng_for
from dramatis.engine.state import Scratch, clamp
from dramatis.engine.traits import name_tokens

FALLBACK_LOCATION = Location(id="here", name="the meeting place")
"""Where personas stand when the brief names no locations."""

TRUST_SPREAD = 0.1
"""Starting trust between two personas is seeded in -0.1..0.1."""


@dataclass(frozen=True, slots=True)
class BriefIndex:
    """Lookups over a brief: locations by id, where clues hide, objectives by name."""

    locations: tuple[Location, ...]
    by_id: dict[str, Location]
    neighbours: dict[str, tuple[str, ...]]
    clue_home: dict[str, str]  # clue -> the only location where searching finds it
    objectives: dict[str, Objective]
    objective_home: dict[str, str]  # objective -> the only location where it can be pursued
    start: str | None
    distance: dict[str, dict[str, int]]  # a -> b -> fewest moves from a to b (reachable only)

    def name_of(self, location_id: str) -> str:
        """Display name of a location id (the id itself when unknown)."""
        loc = self.by_id.get(location_id)
        return loc.name if loc is not None else location_id

    def findable_here(self, hidden: Sequence[str], location_id: str) -> list[str]:
        """Hidden clues a search at ``location_id`` can uncover, in order."""
        return [c for c in hidden if self.clue_home.get(c, location_id) == location_id]

    def moves(self, start: str, goal: str) -> int | None:
        """The fewest moves from ``start`` to ``goal`` along exits, or None when unreachable."""
        return self.distance.get(start, {}).get(goal)


def locations_of(brief: WorldBrief) -> tuple[Location, ...]:
    """The brief's locations, or the single fallback location when it names none."""
    return brief.locations or (FALLBACK_LOCATION,)


def location_name(brief: WorldBrief, location_id: str) -> str:
    """Display name of ``location_id`` in ``brief`` (fallback location included)."""
    return index_of(brief).name_of(location_id)


def named_location(text: str, locations: Sequence[Location]) -> str | None:
    """The location whose name ``text`` mentions most (first on ties), or None.

    "a lantern hidden in the Seal Cave" names the Seal Cave; "the Hollin's medicine chest" names
    "the Wreck of the Hollin". Words of three letters or more count; "the", "of" and the like
    do not.
    """
    said = name_tokens(text)
    best: str | None = None
    best_hits = 0
    for loc in locations:
        hits = len(name_tokens(loc.name) & said)
        if hits > best_hits:
            best, best_hits = loc.id, hits
    return best


def _distances(neighbours: Mapping[str, Sequence[str]]) -> dict[str, dict[str, int]]:
    """Breadth-first distances between every pair of locations (exits are one-way)."""
    table: dict[str, dict[str, int]] = {}
    for origin in neighbours:
        reached = {origin: 0}
        frontier = [origin]
        while frontier:
            following: list[str] = []
            for here in frontier:
                for there in neighbours.get(here, ()):
                    if there not in reached:
                        reached[there] = reached[here] + 1
                        following.append(there)
            frontier = following
        table[origin] = reached
    return table


def _build_index(brief: WorldBrief) -> BriefIndex:
    locations = locations_of(brief)
    by_id = {loc.id: loc for loc in locations}
    neighbours = {
        loc.id: tuple(loc.exits) if loc.exits else tuple(o.id for o in locations if o.id != loc.id)
        for loc in locations
    }
    clue_home: dict[str, str] = {}
    for loc in locations:
        for clue in loc.clues:
            clue_home.setdefault(clue, loc.id)
    for event in brief.events:
        if event.location is not None and event.location in by_id:
            for clue in event.effect.add_clues:
                clue_home.setdefault(clue, event.location)
    if len(locations) > 1:
        every_clue = [*brief.clues, *(c for e in brief.events for c in e.effect.add_clues)]
        for clue in every_clue:
            if clue not in clue_home:
                home = named_location(clue, locations)
                if home is not None:
                    clue_home[clue] = home
    objective_home = {o.name: o.location for o in brief.objectives if o.location is not None}
    start = brief.start_location if brief.locations else FALLBACK_LOCATION.id
    return BriefIndex(
        locations=locations,
        by_id=by_id,
        neighbours=neighbours,
        clue_home=clue_home,
        objectives={o.name: o for o in brief.objectives},
        objective_home=objective_home,
        start=start,
        distance=_distances(neighbours),
    )


_INDEX: dict[int, tuple[WorldBrief, BriefIndex]] = {}
_INDEX_LIMIT = 64


def index_of(brief: WorldBrief) -> BriefIndex:
    """The cached ``BriefIndex`` of ``brief`` (by identity; the brief is held while cached)."""
    entry = _INDEX.get(id(brief))
    if entry is not None and entry[0] is brief:
        return entry[1]
    index = _build_index(brief)
    if len(_INDEX) >= _INDEX_LIMIT:
        _INDEX.pop(next(iter(_INDEX)))
    _INDEX[id(brief)] = (brief, index)
    return index


def initial_world(
    brief: WorldBrief,
    persona_ids: Sequence[str],
    seed: int,
    names: Mapping[str, str] | None = None,
) -> WorldState:
    """Turn 0: positions, danger, hidden clues, resources, counters, trust; start events fired.

    Everyone starts at ``start_location``; without one, personas are spread over the locations
    in a seeded order. Trust between every pair starts at a seeded value in -0.1..0.1. Seeded
    draws follow the personas' display names in ``names`` (their ids when absent), so the same
    seed and cast lay out the same world whatever ids the personas were given.
    """
    keys = persona_keys(persona_ids, names)
    ids = in_key_order(keys, keys)
    if not ids:
        raise ValueError("a world needs at least one persona")
    index = index_of(brief)
    rng = rng_for(seed, 0, "world")
    if index.start is not None:
        positions = {pid: index.start for pid in ids}
    else:
        order = [loc.id for loc in index.locations]
        rng.shuffle(order)
        positions = {pid: order[i % len(order)] for i, pid in enumerate(ids)}
    trust = {
        a: {b: round(rng.uniform(-TRUST_SPREAD, TRUST_SPREAD), 2) for b in ids if b != a}
        for a in ids
    }
    counters: dict[str, int] = {o.name: 0 for o in brief.objectives}
    for event in brief.events:
        if event.trigger.kind == "counter" and event.trigger.counter is not None:
            counters.setdefault(event.trigger.counter, 0)
        for name in event.effect.counters:
            counters.setdefault(name, 0)
    scratch = Scratch(
        turn=0,
        tension=brief.tension,
        positions=positions,
        danger={loc.id: loc.danger for loc in index.locations},
        hidden=list(dict.fromkeys(brief.clues)),
        discovered=[],
        resources=dict(brief.resources),
        counters=counters,
        trust=trust,
        knowledge={pid: [] for pid in ids},
        flags={},
        fired=[],
        complete=False,
        perceptions={pid: [] for pid in ids},
        keys=keys,
    )
    fire_events(scratch, brief, start=True)
    return scratch.freeze()


def trigger_holds(event: BriefEvent, scratch: Scratch, *, start: bool = False) -> bool:
    """Whether ``event``'s trigger holds now (``start``: only start triggers are considered)."""
    trigger = event.trigger
    if start or trigger.kind == "start":
        return start and trigger.kind == "start"
    if trigger.kind == "turn":
        return trigger.turn is not None and scratch.turn >= trigger.turn
    threshold = trigger.at_least if trigger.at_least is not None else 0.0
    if trigger.kind == "counter":
        return scratch.counters.get(trigger.counter or "", 0) >= threshold
    if trigger.kind == "tension":
        return scratch.tension >= threshold - 1e-9
    return len(scratch.discovered) >= threshold


def witnesses_of(event: BriefEvent, scratch: Scratch) -> list[str]:
    """Who perceives ``event``: everyone, those at its location, or those at a named location."""
    if event.witnesses == "all":
        return scratch.personas()
    if event.witnesses == "present":
        if event.location is None:
            return scratch.personas()
        return scratch.present(event.location)
    return scratch.present(event.witnesses)


def apply_event(event: BriefEvent, scratch: Scratch) -> None:
    """Apply ``event``'s effect, mark it fired and tell its witnesses."""
    effect = event.effect
    scratch.fired.append(event.id)
    witnesses = witnesses_of(event, scratch)
    scratch.shift_tension(effect.tension)
    for clue in effect.add_clues:
        if clue not in scratch.hidden and clue not in scratch.discovered:
            scratch.hidden.append(clue)
    for clue in effect.reveal_clues:
        scratch.discover(clue)
        for persona in witnesses:
            scratch.learn(persona, clue)
    for name, delta in effect.counters.items():
        scratch.counters[name] = max(0, scratch.counters.get(name, 0) + delta)
    for location_id, level in effect.danger.items():
        scratch.danger[location_id] = clamp(level, 0.0, 1.0)
    if effect.complete:
        scratch.complete = True
    line = f"{event.title}: {event.text}"
    if effect.reveal_clues:
        line += f" (You learned: {', '.join(effect.reveal_clues)}.)"
    for persona in witnesses:
        scratch.perceive(persona, line)


def fire_events(scratch: Scratch, brief: WorldBrief, *, start: bool = False) -> list[BriefEvent]:
    """Fire every brief event whose trigger holds and that has not fired, in brief order.

    One event's effect can make another's trigger hold; checking repeats until nothing more
    fires, and every event fires at most once per campaign.
    """
    fired: list[BriefEvent] = []
    progress = True
    while progress:
        progress = False
        for event in brief.events:
            if event.id in scratch.fired or not trigger_holds(event, scratch, start=start):
                continue
            apply_event(event, scratch)
            fired.append(event)
            progress = True
    return fired
