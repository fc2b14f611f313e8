"""A small hand-written world and cast for the simulation engine's tests."""

from __future__ import annotations

import random

from dramatis.domain.sheet import CharacterSheet
from dramatis.domain.world import (
    BriefEffect,
    BriefEvent,
    Location,
    Objective,
    Trigger,
    WorldBrief,
    WorldState,
)
from dramatis.engine.director import TurnResolution, play_offline_turn
from dramatis.engine.world import initial_world

LIGHTHOUSE = WorldBrief(
    opening="A storm has cut the lighthouse off from the mainland; a wreck lies on the rocks.",
    locations=(
        Location(
            id="lamp",
            name="the Lamp Room",
            description="glass and brass high above the sea",
            exits=("landing",),
            danger=0.2,
            clues=("the torn logbook page",),
        ),
        Location(id="landing", name="the Landing", exits=("lamp", "cistern", "shore"), danger=0.1),
        Location(
            id="cistern", name="the Cistern", exits=("landing",), danger=0.5, clues=("the tin box",)
        ),
        Location(
            id="shore",
            name="the Wreck Shore",
            exits=("landing",),
            danger=0.7,
            clues=("the wet rope", "the captain's seal"),
        ),
    ),
    start_location="landing",
    tension=0.3,
    clues=(
        "the torn logbook page",
        "the tin box",
        "the wet rope",
        "the captain's seal",
        "a muddy bootprint",
    ),
    resources={"lamp oil": 3, "rope": 2},
    objectives=(
        Objective(
            name="relight the lamp", description="keep the light burning", target=5, location="lamp"
        ),
        Objective(name="signal the mainland", target=4),
    ),
    events=(
        BriefEvent(
            id="storm",
            title="The storm breaks",
            text="Rain lashes the tower.",
            trigger=Trigger(kind="start"),
            effect=BriefEffect(tension=0.05),
        ),
        BriefEvent(
            id="tide",
            title="The tide turns",
            text="The sea climbs the shore.",
            trigger=Trigger(kind="turn", turn=6),
            effect=BriefEffect(danger={"shore": 0.9}, tension=0.1),
            witnesses="present",
            location="shore",
        ),
        BriefEvent(
            id="truth",
            title="The pieces fit",
            text="Someone put it together.",
            trigger=Trigger(kind="clues", at_least=4),
            effect=BriefEffect(tension=0.1, add_clues=("the second key",)),
            location="cistern",
        ),
        BriefEvent(
            id="light",
            title="The light returns",
            text="The beam sweeps the water.",
            trigger=Trigger(kind="counter", counter="relight the lamp", at_least=5),
            effect=BriefEffect(tension=-0.3),
        ),
        BriefEvent(
            id="boil",
            title="Tempers boil over",
            text="Voices echo up the stairs.",
            trigger=Trigger(kind="tension", at_least=0.8),
            effect=BriefEffect(tension=0.05),
        ),
    ),
)

CAST = {
    "mirela": CharacterSheet(
        name="Mirela Voss",
        summary="The keeper of the Skerry Light.",
        personality=("cautious", "dry-witted", "loyal"),
        decision_weights={
            "self_preservation": 0.7,
            "loyalty": 0.8,
            "relationships": 0.5,
            "mission": 0.6,
            "morality": 0.8,
        },
        goals=("Keep the light burning",),
        fears=("drowning",),
        speech="Dry, clipped; says 'aye' a lot.",
        stats={"wits": 4, "nerve": 3},
    ),
    "tobiah": CharacterSheet(
        name="Tobiah Crane",
        summary="A salvager with debts.",
        personality=("reckless", "charming", "quick to lie"),
        decision_weights={
            "self_preservation": 0.3,
            "loyalty": 0.2,
            "relationships": 0.4,
            "mission": 0.5,
            "morality": 0.2,
        },
        goals=("Pay off the debt with the wreck's cargo",),
        fears=("the gallows",),
        speech="Smooth and rough; curses often.",
        stats={"charm": 4},
    ),
    "hester": CharacterSheet(
        name="Hester Lind",
        summary="Coast guard, here to find the truth.",
        personality=("honest", "curious", "stubborn"),
        decision_weights={
            "self_preservation": 0.4,
            "loyalty": 0.5,
            "relationships": 0.5,
            "mission": 0.8,
            "morality": 0.9,
        },
        goals=("Find out what happened to the wreck",),
        fears=("being betrayed",),
        speech="Formal and precise.",
        stats={"wits": 4, "nerve": 4},
    ),
    "osk": CharacterSheet(
        name="Osk Brenner",
        summary="An old fisherman.",
        personality=("suspicious", "gruff", "secretive"),
        decision_weights={
            "self_preservation": 0.8,
            "loyalty": 0.3,
            "relationships": 0.3,
            "mission": 0.3,
            "morality": 0.5,
        },
        goals=("Protect his grandson",),
        fears=("being alone",),
    ),
}
NAMES = {pid: sheet.name for pid, sheet in CAST.items()}


def sheet(name: str, personality: tuple[str, ...] = (), **weights: float) -> CharacterSheet:
    """A minimal sheet with the given traits and decision weights."""
    return CharacterSheet(name=name, personality=personality, decision_weights=weights)


def run_campaign(
    seed: int,
    turns: int,
    brief: WorldBrief = LIGHTHOUSE,
    cast: dict[str, CharacterSheet] | None = None,
) -> tuple[WorldState, list[TurnResolution]]:
    """Play ``turns`` offline turns (or until the world completes); the start and every turn."""
    cast = cast or CAST
    names = {pid: s.name for pid, s in cast.items()}
    world = initial_world(brief, list(cast), seed)
    start = world
    turns_played: list[TurnResolution] = []
    for _ in range(turns):
        if world.complete:
            break
        result = play_offline_turn(world, brief, cast, names, seed)
        turns_played.append(result)
        world = result.world
    return start, turns_played


class FixedDie(random.Random):
    """A random stream whose d20 always shows ``face`` (other draws stay seeded)."""

    def __init__(self, face: int) -> None:
        super().__init__(0)
        self.face = face

    def randint(self, a: int, b: int) -> int:
        return self.face if (a, b) == (1, 20) else super().randint(a, b)
