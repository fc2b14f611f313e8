"""The world a brief starts, and brief events firing from its state."""

from __future__ import annotations

import itertools

import pytest
from engine_fixtures import CAST, LIGHTHOUSE, NAMES
from pydantic import ValidationError

from dramatis.domain.actions import ActionKind
from dramatis.domain.ledger import Decision, TurnLedger
from dramatis.domain.world import (
    BriefEffect,
    BriefEvent,
    Location,
    Objective,
    Trigger,
    WorldBrief,
    WorldState,
)
from dramatis.engine.director import resolve_turn
from dramatis.engine.world import FALLBACK_LOCATION, index_of, initial_world, location_name

WAIT = Decision(action=ActionKind.WAIT, reasoning="I keep still.")


def wait_turns(
    world: WorldState, brief: WorldBrief, turns: int, seed: int = 1
) -> tuple[list[TurnLedger], WorldState]:
    """Resolve ``turns`` turns in which everyone waits; returns the ledgers."""
    ledgers = []
    for _ in range(turns):
        decisions = {pid: WAIT for pid in world.positions}
        result = resolve_turn(
            world, brief, decisions, {}, NAMES, seed, world.turn + 1, "2026-01-01T00:00:00Z", 0.0
        )
        ledgers.append(result.ledger)
        world = result.world
    return ledgers, world


def test_everyone_starts_at_the_start_location_with_the_brief_applied() -> None:
    world = initial_world(LIGHTHOUSE, list(CAST), seed=7)
    assert world.turn == 0
    assert set(world.positions.values()) == {"landing"}
    assert world.danger == {"lamp": 0.2, "landing": 0.1, "cistern": 0.5, "shore": 0.7}
    assert world.hidden_clues == LIGHTHOUSE.clues
    assert world.discovered_clues == ()
    assert world.resources == {"lamp oil": 3, "rope": 2}
    assert world.counters == {"relight the lamp": 0, "signal the mainland": 0}
    assert world.knowledge == {pid: () for pid in sorted(CAST)}
    assert world.complete is False


def test_start_events_fire_once_and_are_perceived() -> None:
    world = initial_world(LIGHTHOUSE, list(CAST), seed=7)
    assert world.fired_events == ("storm",)
    assert world.tension == pytest.approx(0.35)
    for pid in CAST:
        assert world.perceptions[pid] == ("The storm breaks: Rain lashes the tower.",)


def test_trust_between_every_pair_starts_near_zero_and_is_seeded() -> None:
    world = initial_world(LIGHTHOUSE, list(CAST), seed=7)
    for a, b in itertools.permutations(CAST, 2):
        assert -0.1 <= world.trust[a][b] <= 0.1
    for a in CAST:
        assert a not in world.trust[a]
    assert initial_world(LIGHTHOUSE, list(CAST), seed=7) == world
    others = {initial_world(LIGHTHOUSE, list(CAST), seed=s).trust == world.trust for s in range(8)}
    assert False in others


def test_without_a_start_location_personas_are_spread_over_the_locations() -> None:
    brief = LIGHTHOUSE.model_copy(update={"start_location": None})
    ids = ["p1", "p2", "p3", "p4"]
    world = initial_world(brief, ids, seed=3)
    assert sorted(world.positions.values()) == sorted(loc.id for loc in brief.locations)
    assert initial_world(brief, ids, seed=3).positions == world.positions
    layouts = {tuple(initial_world(brief, ids, seed=s).positions.values()) for s in range(10)}
    assert len(layouts) > 1


def test_a_brief_without_locations_is_played_in_one_place() -> None:
    world = initial_world(WorldBrief(), ["a", "b"], seed=1)
    assert world.positions == {"a": FALLBACK_LOCATION.id, "b": FALLBACK_LOCATION.id}
    assert location_name(WorldBrief(), FALLBACK_LOCATION.id) == FALLBACK_LOCATION.name


def test_a_world_needs_personas() -> None:
    with pytest.raises(ValueError, match="at least one persona"):
        initial_world(LIGHTHOUSE, [], seed=1)


def test_a_turn_trigger_fires_once_at_its_turn() -> None:
    world = initial_world(LIGHTHOUSE, list(CAST), seed=2)
    ledgers, world = wait_turns(world, LIGHTHOUSE, 9)
    fired = {ledger.turn_number: [e.id for e in ledger.events] for ledger in ledgers}
    assert fired[6] == ["tide"]
    assert all(ids == [] for turn, ids in fired.items() if turn != 6)
    assert world.danger["shore"] == 0.9
    assert world.fired_events.count("tide") == 1


def test_present_witnesses_are_only_those_at_the_event_location() -> None:
    brief = WorldBrief(
        locations=(Location(id="a", name="A"), Location(id="b", name="B")),
        events=(
            BriefEvent(
                id="flash",
                title="A flash",
                text="Light in the water.",
                trigger=Trigger(kind="turn", turn=1),
                effect=BriefEffect(reveal_clues=("the lantern",)),
                witnesses="present",
                location="a",
            ),
            BriefEvent(
                id="knock",
                title="A knock",
                text="Someone at the door of B.",
                trigger=Trigger(kind="turn", turn=1),
                witnesses="b",
            ),
        ),
        clues=("the lantern",),
    )
    world = initial_world(brief, ["x", "y"], seed=1)
    world = world.model_copy(update={"positions": {"x": "a", "y": "b"}})
    ledgers, world = wait_turns(world, brief, 1)
    assert [e.id for e in ledgers[0].events] == ["flash", "knock"]
    assert any("A flash" in line for line in world.perceptions["x"])
    assert not any("A flash" in line for line in world.perceptions["y"])
    assert any("A knock" in line for line in world.perceptions["y"])
    assert not any("A knock" in line for line in world.perceptions["x"])
    assert world.knowledge["x"] == ("the lantern",)
    assert world.knowledge["y"] == ()
    assert world.discovered_clues == ("the lantern",)


def test_counter_tension_and_clue_triggers_fire_when_reached_and_cascade() -> None:
    brief = WorldBrief(
        locations=(Location(id="a", name="A"),),
        tension=0.2,
        objectives=(Objective(name="the wall", target=3),),
        events=(
            BriefEvent(
                id="wall",
                title="The wall stands",
                text="It holds.",
                trigger=Trigger(kind="counter", counter="the wall", at_least=3),
                effect=BriefEffect(tension=0.5, reveal_clues=("a name",)),
            ),
            BriefEvent(
                id="fear",
                title="Fear rises",
                text="Everyone is shaking.",
                trigger=Trigger(kind="tension", at_least=0.7),
            ),
            BriefEvent(
                id="known",
                title="It is known",
                text="The name is spoken.",
                trigger=Trigger(kind="clues", at_least=1),
                effect=BriefEffect(complete=True),
            ),
        ),
    )
    world = initial_world(brief, ["x", "y"], seed=4)
    ledgers, after = wait_turns(world, brief, 1)
    assert ledgers[0].events == ()
    pushed = after.model_copy(update={"counters": {"the wall": 3}})
    ledgers, final = wait_turns(pushed, brief, 1)
    assert [e.id for e in ledgers[0].events] == ["wall", "fear", "known"]
    assert final.complete is True
    assert final.tension >= 0.7
    with pytest.raises(ValueError, match="complete"):
        wait_turns(final, brief, 1)


def test_location_clues_and_objective_locations_must_exist() -> None:
    with pytest.raises(ValidationError, match="hides clue"):
        WorldBrief(locations=(Location(id="a", name="A", clues=("ghost",)),))
    with pytest.raises(ValidationError, match="unknown location"):
        WorldBrief(
            locations=(Location(id="a", name="A"),),
            objectives=(Objective(name="x", location="nowhere"),),
        )
    event_clue = WorldBrief(
        locations=(Location(id="a", name="A", clues=("later",)),),
        events=(
            BriefEvent(
                id="e",
                title="E",
                text="t",
                trigger=Trigger(kind="turn", turn=2),
                effect=BriefEffect(add_clues=("later",)),
            ),
        ),
    )
    assert event_clue.locations[0].clues == ("later",)


def test_the_index_knows_how_many_moves_lie_between_places() -> None:
    index = index_of(LIGHTHOUSE)
    assert index.moves("lamp", "lamp") == 0
    assert index.moves("lamp", "landing") == 1
    assert index.moves("lamp", "shore") == 2
    assert index.moves("cistern", "shore") == 2
    one_way = WorldBrief(
        locations=(
            Location(id="a", name="A", exits=("b",)),
            Location(id="b", name="B", exits=("b2",)),
            Location(id="b2", name="B2", exits=("b",)),
        )
    )
    assert index_of(one_way).moves("a", "b2") == 2
    assert index_of(one_way).moves("b", "a") is None


def test_an_event_cannot_push_a_counter_below_zero() -> None:
    brief = WorldBrief(
        locations=(Location(id="a", name="A"),),
        objectives=(Objective(name="the orchard", target=4),),
        events=(
            BriefEvent(
                id="fall",
                title="A tree falls",
                text="Glass everywhere.",
                trigger=Trigger(kind="turn", turn=1),
                effect=BriefEffect(counters={"the orchard": -1}),
            ),
        ),
    )
    _, world = wait_turns(initial_world(brief, ["x", "y"], seed=1), brief, 1)
    assert world.counters["the orchard"] == 0


def test_a_persona_that_changed_place_remembers_where_it_came_from() -> None:
    world = initial_world(LIGHTHOUSE, list(CAST), seed=3)
    go = Decision(action=ActionKind.MOVE, target="lamp", reasoning="Up to the lamp.")
    moved = world
    for turn in range(1, 6):  # a move can be turned back; try until it succeeds
        decisions = {pid: WAIT for pid in CAST} | {"mirela": go}
        result = resolve_turn(
            moved, LIGHTHOUSE, decisions, CAST, NAMES, 2, turn, "2026-01-01T00:00:00Z", 0.0
        )
        moved = result.world
        if moved.positions["mirela"] == "lamp":
            break
    landing = [loc.id for loc in LIGHTHOUSE.locations].index("landing")
    assert moved.positions["mirela"] == "lamp"
    assert moved.flags["left:mirela"] == landing
    assert "left:osk" not in moved.flags
    stay = resolve_turn(
        moved, LIGHTHOUSE, {}, CAST, NAMES, 2, moved.turn + 1, "2026-01-01T00:00:00Z", 0.0
    )
    assert "left:mirela" not in stay.world.flags
