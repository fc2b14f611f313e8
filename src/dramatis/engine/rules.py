"""The rules: which actions a persona can take, and the numbers that decide what they do.

Every action is a d20 roll plus the actor's modifier against a difficulty set by tension, the
danger where the actor stands and, for social actions, the target's trust and nerve. A total at
or above the difficulty succeeds, up to four below is a partial success, lower fails; a natural
20 always succeeds and a natural 1 always fails. ``engine.resolve`` applies the numbers
kept here; docs/turns.md explains them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dramatis.domain.actions import ActionKind
from dramatis.domain.context import ActionOption
from dramatis.domain.ledger import Outcome
from dramatis.domain.world import WorldBrief, WorldState
from dramatis.engine.cast import cast_order
from dramatis.engine.traits import Profile
from dramatis.engine.world import BriefIndex, index_of

K = ActionKind

# Tension changes (tension runs 0..1).
TENSION_FAILURE = 0.02  # any failed roll (not waiting)
TENSION_SEARCH_FAILURE = 0.03
TENSION_CONFRONT = {"success": 0.06, "partial": 0.04, "failure": 0.04}  # failure: +0.02 more
TENSION_DECEIVE_SUCCESS = 0.01
TENSION_CAUGHT = 0.04  # on top of the failure's own +0.02
TENSION_CALM = {K.HELP: 0.04, K.DEFEND: 0.04, K.SHARE: 0.02, K.BARGAIN: 0.02}  # x tension, eased
TENSION_PURSUE_PARTIAL = 0.03
TENSION_HURT = 0.03
TENSION_CLOCK = 0.01  # every turn: time presses
TENSION_PRESSURE = 0.01  # every turn, for each persona standing where danger >= 0.5
TENSION_SETTLE = 0.05  # every turn: tension moves 5% of the way back toward the brief's level

# Objectives: effort per roll; a step (counter + 1) takes 4 effort, at most one step per turn.
EFFORT = {"success": 2, "partial": 1, "failure": -1}
STEP_EFFORT = 4

# Trust changes: (target's trust in actor, actor's trust in target) per outcome.
TRUST_HELP = {"success": (0.10, 0.05), "partial": (0.05, 0.0), "failure": (-0.02, 0.0)}
TRUST_SHARE = {"success": (0.08, 0.03), "partial": (0.03, 0.0), "failure": (0.0, 0.0)}
TRUST_BARGAIN = {"success": (0.10, 0.05), "partial": (0.05, 0.0), "failure": (-0.05, 0.0)}
TRUST_CONFRONT = {"success": (-0.15, -0.05), "partial": (-0.10, 0.0), "failure": (-0.10, -0.05)}
TRUST_DEFEND_ALLY = 0.08
TRUST_FOOLED = 0.05
TRUST_CAUGHT = -0.35
TRUST_CAUGHT_WITNESS = -0.10
TRUST_SECRET_FIND = -0.03  # witnesses of a find they were not told about

# Peril: a persona standing where danger >= 0.5 while tension >= 0.5 rolls to avoid harm.
PERIL_DANGER = 0.5
PERIL_TENSION = 0.5
SAFE_DANGER = 0.3  # below this, resting (hide or wait) can heal a wound

PRIORITY: dict[ActionKind, int] = {
    K.HIDE: 0,
    K.DEFEND: 1,
    K.HELP: 2,
    K.SHARE: 3,
    K.BARGAIN: 4,
    K.CONFRONT: 5,
    K.DECEIVE: 6,
    K.SEARCH: 7,
    K.PURSUE: 8,
    K.WAIT: 9,
    K.MOVE: 10,
}
"""Resolution order within a turn: lower first; ties by a seeded initiative order."""


# ---------------------------------------------------------------------- availability


def _present(positions: Mapping[str, str], persona_id: str, names: Mapping[str, str]) -> list[str]:
    """Who else stands where ``persona_id`` stands, in the stable order of their names."""
    here = positions[persona_id]
    return [p for p in cast_order(positions, names) if p != persona_id and positions[p] == here]


def clue_to_share(
    knowledge: Mapping[str, tuple[str, ...] | list[str]], a: str, b: str
) -> str | None:
    """The first clue ``a`` knows that ``b`` does not, or None."""
    theirs = knowledge.get(b, ())
    for clue in knowledge.get(a, ()):
        if clue not in theirs:
            return clue
    return None


def safer_neighbour(index: BriefIndex, danger: Mapping[str, float], here: str) -> str | None:
    """The least dangerous neighbouring location strictly safer than ``here`` (first on ties)."""
    best: str | None = None
    best_level = danger.get(here, 0.0)
    for loc_id in index.neighbours.get(here, ()):
        level = danger.get(loc_id, 0.0)
        if level < best_level:
            best, best_level = loc_id, level
    return best


def open_objectives(world: WorldState, index: BriefIndex, here: str) -> list[str]:
    """Objectives not yet at their target that can be pursued at ``here``."""
    return [
        name
        for name, objective in index.objectives.items()
        if world.counters.get(name, 0) < objective.target
        and index.objective_home.get(name, here) == here
    ]


def available_actions(
    world: WorldState, brief: WorldBrief, persona_id: str, names: Mapping[str, str]
) -> tuple[ActionOption, ...]:
    """Every action ``persona_id`` can take now, in a stable order, with readable labels."""
    if persona_id not in world.positions:
        raise ValueError(f"persona {persona_id!r} is not in this world")
    index = index_of(brief)
    here = world.positions[persona_id]
    here_name = index.name_of(here)
    options: list[ActionOption] = []
    add = options.append
    for name in open_objectives(world, index, here):
        objective = index.objectives[name]
        progress = f"{world.counters.get(name, 0)}/{objective.target}"
        add(
            ActionOption(
                action=K.PURSUE, target=name, target_name=name, label=f"work on {name} ({progress})"
            )
        )
    if index.findable_here(world.hidden_clues, here):
        add(ActionOption(action=K.SEARCH, label=f"search {here_name}"))
    for other in _present(world.positions, persona_id, names):
        who = names.get(other, other)
        add(ActionOption(action=K.HELP, target=other, target_name=who, label=f"help {who}"))
        clue = clue_to_share(world.knowledge, persona_id, other)
        if clue is not None:
            add(
                ActionOption(
                    action=K.SHARE, target=other, target_name=who, label=f"tell {who} about {clue}"
                )
            )
        add(
            ActionOption(
                action=K.BARGAIN, target=other, target_name=who, label=f"bargain with {who}"
            )
        )
        add(ActionOption(action=K.CONFRONT, target=other, target_name=who, label=f"confront {who}"))
        add(ActionOption(action=K.DECEIVE, target=other, target_name=who, label=f"deceive {who}"))
        add(ActionOption(action=K.DEFEND, target=other, target_name=who, label=f"guard {who}"))
    add(ActionOption(action=K.DEFEND, label="stand guard"))
    add(ActionOption(action=K.HIDE, label=f"hide in {here_name}"))
    refuge = safer_neighbour(index, world.danger, here)
    if refuge is not None:
        refuge_name = index.name_of(refuge)
        add(
            ActionOption(
                action=K.HIDE,
                target=refuge,
                target_name=refuge_name,
                label=f"slip away to {refuge_name}",
            )
        )
    for loc_id in index.neighbours.get(here, ()):
        loc_name = index.name_of(loc_id)
        add(
            ActionOption(
                action=K.MOVE, target=loc_id, target_name=loc_name, label=f"go to {loc_name}"
            )
        )
    add(ActionOption(action=K.WAIT, label="wait and watch"))
    return tuple(options)


def is_available(
    world: WorldState, brief: WorldBrief, persona_id: str, action: ActionKind, target: str | None
) -> bool:
    """Whether ``(action, target)`` is among ``persona_id``'s available actions in ``world``."""
    if persona_id not in world.positions:
        return False
    index = index_of(brief)
    here = world.positions[persona_id]
    if action is K.WAIT:
        return target is None
    if action is K.SEARCH:
        return target is None and bool(index.findable_here(world.hidden_clues, here))
    if action is K.PURSUE:
        return target is not None and target in open_objectives(world, index, here)
    if action is K.MOVE:
        return target is not None and target in index.neighbours.get(here, ())
    if action is K.HIDE:
        return target is None or target == safer_neighbour(index, world.danger, here)
    if action is K.DEFEND and target is None:
        return True
    if target is None or target == persona_id or world.positions.get(target) != here:
        return False
    if action is K.SHARE:
        return clue_to_share(world.knowledge, persona_id, target) is not None
    return True


# ---------------------------------------------------------------------- resolution


@dataclass(slots=True)
class TurnRules:
    """What the resolvers need besides the world: the brief, profiles, names, seed and turn."""

    brief: WorldBrief
    index: BriefIndex
    profiles: Mapping[str, Profile]
    names: Mapping[str, str]
    seed: int
    turn: int
    protected: set[str] = field(default_factory=set)  # safe from peril this turn
    concealed: set[str] = field(default_factory=set)  # cannot be reached by others this turn
    advanced: set[str] = field(default_factory=set)  # objectives that moved forward this turn

    def name(self, persona_id: str) -> str:
        """Display name of a persona."""
        return self.names.get(persona_id, persona_id)


@dataclass(frozen=True, slots=True)
class Resolution:
    """One persona's resolved action, before it becomes a ledger entry."""

    persona_id: str
    action: ActionKind
    target: str | None
    target_name: str | None
    location: str
    die: int
    modifier: int
    difficulty: int
    outcome: Outcome
    consequence: str
