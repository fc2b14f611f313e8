"""The offline persona policy: a deterministic, in-character choice among the available actions.

Every option gets a score: a sum of contributions from the sheet's decision weights, its
personality traits, its goals and fears, and the world as the persona sees it (tension, danger
where it stands, its trust in the others, grudges and debts from recent turns, clues, objectives),
plus a small seeded noise. The highest score wins. The contribution that weighed most in the
winner becomes the one-sentence reason. docs/turns.md lists the numbers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import NamedTuple

from dramatis.domain.actions import ActionKind
from dramatis.domain.context import ActionOption, DecisionContext
from dramatis.domain.ledger import Decision, Provenance
from dramatis.domain.world import Objective, WorldState
from dramatis.engine.cast import cast_order, persona_keys
from dramatis.engine.dice import rng_for
from dramatis.engine.rules import PERIL_DANGER, STEP_EFFORT
from dramatis.engine.state import ACTION_ORDER
from dramatis.engine.traits import Profile, content_words, name_tokens, profile_of
from dramatis.engine.voice import objective_phrase, phrase_reason, short_name, soften
from dramatis.engine.world import BriefIndex, index_of

K = ActionKind
# Plain names: enum attribute lookups are slow in the scoring loop.
MOVE = ActionKind.MOVE
SEARCH = ActionKind.SEARCH
HELP = ActionKind.HELP
SHARE = ActionKind.SHARE
CONFRONT = ActionKind.CONFRONT
DECEIVE = ActionKind.DECEIVE
BARGAIN = ActionKind.BARGAIN
DEFEND = ActionKind.DEFEND
HIDE = ActionKind.HIDE
PURSUE = ActionKind.PURSUE
WAIT = ActionKind.WAIT

OFFLINE = Provenance(source="offline", model="offline-policy")
NOISE = 0.3
"""Each option gets a seeded random bonus in 0..0.3."""
REPEAT_PENALTY = 0.15
"""Repeating last turn's kind of action costs this much per turn in a row (capped at 0.6)."""
REPEAT_CAP = 0.6
BACKTRACK = 0.45
"""Going straight back to the place left last turn costs this much (half when wounded)."""
TRAVEL_PULL = 1.15
"""Heading for an objective that can only be pursued elsewhere weighs this times its draw."""
DRIVE_FLOOR = 0.08
"""A chosen option whose strongest contribution is below this is explained as 'idle'."""


class ScoredOption(NamedTuple):
    """An option with its score, the noise in it, and the factor that weighed most."""

    option: ActionOption
    score: float
    noise: float
    factor: str
    subject: str | None


class _Tally:
    """Sums contributions and remembers the largest positive one."""

    __slots__ = ("factor", "subject", "top", "total")

    def __init__(
        self, total: float = 0.0, top: float = 0.0, factor: str = "idle", subject: str | None = None
    ) -> None:
        self.total = total
        self.top = top
        self.factor = factor
        self.subject = subject

    def add(self, value: float, factor: str = "", subject: str | None = None) -> None:
        self.total += value
        if factor and value > self.top:
            self.top = value
            self.factor = factor
            self.subject = subject

    def copy(self) -> _Tally:
        return _Tally(self.total, self.top, self.factor, self.subject)


@dataclass(frozen=True, slots=True)
class _Bearings:
    """What a sheet makes of a brief and a cast: who and where its goals and fears point at."""

    goal_people: dict[str, str]  # persona id -> the goal that names them
    fear_people: frozenset[str]
    fear_places: dict[str, str]  # location id -> the fear it stirs
    goal_objectives: dict[str, str]  # objective -> the goal it serves


_BEARINGS: dict[tuple[int, int, tuple[tuple[str, str], ...]], tuple[object, object, _Bearings]] = {}


def _goal_for(profile: Profile, objective: Objective) -> str | None:
    """The goal an objective serves: two shared words, a word of its name counting double."""
    named = content_words(objective.name)
    described = content_words(objective.description)
    best, best_score = None, 1
    for goal in profile.goals:
        words = content_words(goal)
        score = 2 * len(words & named) + len(words & described)
        if score > best_score:
            best, best_score = goal, score
    return best


def _objective_pull(
    world: WorldState, profile: Profile, bearings: _Bearings, name: str, objective: Objective
) -> float:
    """How much an open objective draws the persona: w_mis * (0.35 + 0.4 * progress), +0.45
    when one of its goals is tied to it. Pursuing it scores this; so does heading for it."""
    done = world.counters.get(name, 0) + world.flags.get(f"effort:{name}", 0.0) / STEP_EFFORT
    pull = profile.mission * (0.35 + 0.4 * done / objective.target)
    if name in bearings.goal_objectives:
        pull += 0.45
    return pull


def _bearings(profile: Profile, index: BriefIndex, names: dict[str, str], pid: str) -> _Bearings:
    key = (id(profile), id(index), (("", pid), *names.items()))
    entry = _BEARINGS.get(key)
    if entry is not None and entry[0] is profile and entry[1] is index:
        return entry[2]
    goal_people: dict[str, str] = {}
    fear_people = set()
    for other, name in names.items():
        if other == pid:
            continue
        tokens = name_tokens(name)
        for goal in profile.goals:
            if tokens & name_tokens(goal):
                goal_people.setdefault(other, goal)
        if tokens & profile.fear_tokens:
            fear_people.add(other)
    fear_places: dict[str, str] = {}
    for loc in index.locations:
        tokens = name_tokens(loc.name)
        if tokens & profile.fear_tokens:
            fear_places[loc.id] = next(
                (f for f in profile.fears if name_tokens(f) & tokens), profile.fears[0]
            )
    goal_objectives: dict[str, str] = {}
    for name, objective in index.objectives.items():
        goal = _goal_for(profile, objective)
        if goal is not None:
            goal_objectives[name] = goal
    bearings = _Bearings(goal_people, frozenset(fear_people), fear_places, goal_objectives)
    if len(_BEARINGS) >= 512:
        _BEARINGS.pop(next(iter(_BEARINGS)))
    _BEARINGS[key] = (profile, index, bearings)
    return bearings


class _Situation:
    """What the persona perceives of the world, precomputed once per decision."""

    __slots__ = (
        "allies_at",
        "b",
        "came_from",
        "clue_places",
        "danger",
        "drive",
        "findable_at",
        "goal_people_at",
        "here",
        "here_drive",
        "index",
        "kinds",
        "last",
        "names",
        "others_know_more",
        "p",
        "peril",
        "pid",
        "present",
        "stocked",
        "streak",
        "tension",
        "their",
        "trust",
        "work_left",
        "world",
        "wounds",
    )

    def __init__(self, context: DecisionContext, profile: Profile, index: BriefIndex) -> None:
        world = context.world
        pid = context.persona_id
        self.world = world
        self.pid = pid
        self.p = profile
        self.index = index
        self.names = context.names
        self.b = _bearings(profile, index, context.names, pid)
        self.here = world.positions[pid]
        self.tension = world.tension
        self.danger = world.danger.get(self.here, 0.0)
        self.wounds = int(world.flags.get(f"hurt:{pid}", 0.0))
        self.peril = min(
            1.2,
            self.danger * (0.5 + 0.5 * self.tension) + 0.2 * self.tension + 0.15 * self.wounds,
        )
        self.trust = world.trust.get(pid, {})
        knows = set(world.knowledge.get(pid, ()))
        cast = cast_order(world.positions, context.names)
        self.present = [o for o in cast if o != pid and world.positions[o] == self.here]
        self.others_know_more = {
            other: any(c not in knows for c in clues)
            for other, clues in world.knowledge.items()
            if other != pid
        }
        last = world.flags.get(f"last:{pid}")
        self.last = ACTION_ORDER[int(last)] if last is not None else None
        self.streak = int(world.flags.get(f"streak:{pid}", 1.0))
        left = world.flags.get(f"left:{pid}")
        places = index.locations
        self.came_from = places[int(left)].id if left is not None and left < len(places) else None
        self.allies_at: dict[str, str] = {}
        self.goal_people_at: dict[str, str] = {}  # location -> a goal naming someone there
        for other in cast:
            if other == pid:
                continue
            if self.trust.get(other, 0.0) > 0.15:
                self.allies_at.setdefault(world.positions[other], other)
            if other in self.b.goal_people:
                self.goal_people_at.setdefault(world.positions[other], self.b.goal_people[other])
        homes = {index.clue_home.get(clue) for clue in world.hidden_clues}
        anywhere = None in homes
        self.findable_at = {loc.id: anywhere or loc.id in homes for loc in index.locations}
        self.clue_places = [loc for loc, findable in self.findable_at.items() if findable]
        self.stocked = any(count > 0 for count in world.resources.values())
        self.drive = {
            name: _objective_pull(world, profile, self.b, name, objective)
            for name, objective in index.objectives.items()
            if world.counters.get(name, 0) < objective.target
        }
        # Work that can only be done here: leaving abandons it (work doable anywhere goes along).
        self.here_drive = max(
            (v for name, v in self.drive.items() if index.objective_home.get(name) == self.here),
            default=0.0,
        )
        self.work_left = any(self.findable_at.values()) or bool(self.drive)
        flags = world.flags
        b = self.b
        self.their: dict[str, _Other] = {}
        for o in self.present:
            trust = self.trust.get(o, 0.0)
            self.their[o] = (
                trust,
                trust if trust > 0.0 else 0.0,
                -trust if trust < 0.0 else 0.0,
                int(flags.get(f"hurt:{o}", 0.0)),
                flags.get(f"aid:{o}", 0.0),
                flags.get(f"owe:{pid}:{o}", 0.0),
                flags.get(f"grudge:{pid}:{o}", 0.0),
                world.trust.get(o, {}).get(pid, 0.0),
                self.others_know_more.get(o, False),
                b.goal_people.get(o),
                o in b.fear_people,
            )
        self.kinds: dict[tuple[ActionKind, bool], _Tally] = {}

    def name(self, persona: str) -> str:
        return self.names.get(persona, persona)

    def clue_moves(self, location: str) -> int | None:
        """Moves from ``location`` to the nearest place where a clue can still be found."""
        reach = self.index.distance.get(location, {})
        return min((reach[c] for c in self.clue_places if c in reach), default=None)

    def fear(self, theme: str) -> str | None:
        return self.p.fear_text.get(theme)

    def goal(self, theme: str) -> str | None:
        return self.p.goal_text.get(theme)


_Other = tuple[float, float, float, int, float, float, float, float, bool, str | None, bool]
"""What a persona makes of another present: its trust, warmth and coldness toward them, their
wounds and aid, its debt and grudge toward them, their trust in it, whether they know more,
the goal that names them, and whether a fear names them."""
_NOBODY: _Other = (0.0, 0.0, 0.0, 0, 0.0, 0.0, 0.0, 0.0, False, None, False)


def _kind_terms(kind: ActionKind, targeted: bool, s: _Situation) -> _Tally:
    """The contributions to an action of ``kind`` that do not depend on its target."""
    t = _Tally()
    p = s.p
    has = p.has
    traits = p.traits
    sp, mis, mor = p.self_preservation, p.mission, p.morality
    peril = s.peril
    fears, goals = p.fear_themes, p.goal_themes
    if kind is HIDE or (kind is DEFEND and not targeted):
        hide = kind is HIDE
        t.add(-0.15 if hide else -0.1)
        t.add(sp * (peril - 0.2) * (1.8 if hide else 1.2), "peril")
        t.add(
            has("cautious") * ((0.1 + 0.5 * peril) if hide else (0.15 + 0.25 * peril)),
            "trait:cautious",
        )
        t.add(-has("bold") * (0.5 if hide else 0.25))
        if "harm" in fears:
            t.add((0.6 if hide else 0.35) * peril, "fear", s.fear("harm"))
        if s.wounds:
            t.add((0.25 if hide else 0.15) * s.wounds, "wounds")
        if not hide:
            if "suspicious" in traits:
                t.add(0.15, "trait:suspicious")
            return t
        if "exposure" in fears:
            t.add(0.25, "fear", s.fear("exposure"))
        if "secretive" in traits:
            t.add(0.2, "trait:secretive")
        if "escape" in goals:
            t.add(0.25 * peril, "goal", s.goal("escape"))
        if "solitude" in fears:
            t.add(-0.2)
        if s.present and peril > 0.5:
            t.add(-0.15 * mor)
        if targeted and s.here in s.b.fear_places:
            t.add(0.5, "fear", s.b.fear_places[s.here])
    elif kind is DEFEND:
        t.add(-0.15 - 0.1 * sp)
        if "solitude" in fears:
            t.add(0.15, "company")
    elif kind is HELP:
        t.add(-0.05 - has("cruel") * 0.3)
        if "kind" in traits:
            t.add(0.1, "trait:kind")
        if "bond" in goals:
            t.add(0.2, "goal", s.goal("bond"))
        if "solitude" in fears:
            t.add(0.1, "company")
    elif kind is SHARE:
        t.add(-0.1)
        t.add(mis * 0.35, "clues")
        t.add(mor * 0.2, "conscience")
        if "honest" in traits:
            t.add(0.35, "trait:honest")
        if "kind" in traits:
            t.add(0.1, "trait:kind")
        t.add(-has("secretive") * 0.5 - has("deceitful") * 0.2 - has("suspicious") * 0.25)
        if "exposure" in fears:
            t.add(-0.2)
        if "truth" in goals:
            t.add(0.15, "goal", s.goal("truth"))
        if "bond" in goals:
            t.add(0.15, "goal", s.goal("bond"))
    elif kind is BARGAIN:
        t.add(-0.15)
        if "ambitious" in traits:
            t.add(0.2, "ambition")
        if "charming" in traits:
            t.add(0.25, "trait:charming")
        if "deceitful" in traits:
            t.add(0.1, "trait:deceitful")
        if "wealth" in goals and s.stocked:
            t.add(0.3, "goal", s.goal("wealth"))
    elif kind is CONFRONT:
        t.add(-0.2)
        if "aggressive" in traits:
            t.add(0.5, "trait:aggressive")
        if "bold" in traits:
            t.add(0.3, "trait:bold")
        if "cruel" in traits:
            t.add(0.35, "trait:cruel")
        t.add(-has("cautious") * 0.4 - has("kind") * 0.35)
        t.add(-sp * peril * 0.5 - mor * 0.15)
        t.add(-(0.5 * sp + 0.4 * mor) * s.tension)
        if "justice" in goals:
            t.add(0.35, "goal", s.goal("justice"))
        if "exposure" in fears:
            t.add(-0.15)
    elif kind is DECEIVE:
        t.add(-0.3)
        if "deceitful" in traits:
            t.add(0.4, "trait:deceitful")
        if "charming" in traits:
            t.add(0.15, "trait:charming")
        if "ambitious" in traits:
            t.add(0.15, "ambition")
        if "wealth" in goals:
            t.add(0.2, "goal", s.goal("wealth"))
        if "exposure" in fears:
            t.add(0.15, "fear", s.fear("exposure"))
        t.add(-mor * 0.9 - has("honest") * 0.9 - has("kind") * 0.25 - has("loyal") * 0.2)
        t.add(-sp * 0.15)
    elif kind is SEARCH:
        t.add(mis * 0.55, "clues")
        if "curious" in traits:
            t.add(0.5, "curiosity")
        if "truth" in goals:
            t.add(0.35, "goal", s.goal("truth"))
        if "bold" in traits:
            t.add(0.15, "trait:bold")
        t.add(-sp * s.danger * 0.6)
        if "harm" in fears:
            t.add(-0.3 * s.danger)
        if "failure" in fears:
            t.add(0.15, "fear", s.fear("failure"))
    elif kind is PURSUE:
        if "ambitious" in traits:
            t.add(0.35, "ambition")
        if "failure" in fears:
            t.add(0.3, "fear", s.fear("failure"))
        if "bold" in traits:
            t.add(0.1, "trait:bold")
        t.add(-sp * peril * 0.4)
    elif kind is MOVE:
        t.add(-0.25 + has("bold") * 0.1 + has("curious") * 0.1)
        if any(o in s.b.fear_people for o in s.present):
            t.add(0.3, "fear", p.fears[0] if p.fears else None)
    else:  # WAIT
        t.add(-0.05)
        if "cautious" in traits:
            t.add(0.15, "trait:cautious")
        if "secretive" in traits:
            t.add(0.1, "trait:secretive")
        t.add(sp * 0.1 * max(0.0, 1.0 - peril), "idle")
        t.add(-has("bold") * 0.3)
        if s.work_left:
            t.add(-has("ambitious") * 0.15 - mis * 0.2 - (0.2 if "failure" in fears else 0.0))
        else:
            t.add(0.15, "idle")
    if kind is s.last:
        # A journey is a run of moves to new places, not one thing done forever: half the cost.
        penalty = min(REPEAT_CAP, REPEAT_PENALTY * s.streak)
        t.add(-penalty / 2 if kind is MOVE else -penalty)
    return t


def _score(option: ActionOption, s: _Situation) -> _Tally:
    """Sum every contribution to ``option`` for the persona in situation ``s``."""
    kind = option.action
    target = option.target
    key = (kind, target is not None)
    base = s.kinds.get(key)
    if base is None:
        base = s.kinds[key] = _kind_terms(kind, target is not None, s)
    if target is None or kind is WAIT or kind is SEARCH:
        return base
    t = base.copy()
    p = s.p
    loy, rel, mis, mor, sp = p.loyalty, p.relationships, p.mission, p.morality, p.self_preservation
    if kind is HIDE:
        t.add(sp * (s.danger - s.world.danger.get(target, 0.0)) * 1.2, "flee")
        if target == s.came_from:
            t.add(-BACKTRACK * (0.5 if s.wounds else 1.0))
        return t
    if kind is PURSUE:
        objective = s.index.objectives.get(target)
        progress = 0.0
        if objective is not None:
            done = s.world.counters.get(target, 0) + s.world.flags.get(f"effort:{target}", 0.0) / 4
            progress = done / objective.target
        t.add(mis * (0.35 + 0.4 * progress), "mission", target)
        if target in s.b.goal_objectives:
            t.add(0.45, "goal", s.b.goal_objectives[target])
        return t
    if kind is MOVE:
        _move_terms(t, target, s)
        return t
    (
        trust,
        warm,
        cold,
        their_wounds,
        their_aid,
        owe,
        grudge,
        their_trust,
        knows_more,
        goal_person,
        fear_person,
    ) = s.their.get(target, _NOBODY)
    who = option.target_name
    traits = p.traits
    if kind is DEFEND:
        threat = min(1.0, s.peril + 0.2 * their_wounds)
        loyal = 0.3 if "loyal" in traits else 0.0
        t.add((loy * (0.2 + warm) * 1.2 + loyal) * threat, "loyalty", who)
        t.add(rel * warm * 0.4 * threat, "warmth", who)
        t.add(mor * 0.3 * threat, "conscience")
        if "protect" in p.goal_themes:
            t.add(0.3 * threat + 0.1, "protector")
        if goal_person:
            t.add(0.3, "goal", goal_person)
        if trust < -0.3:
            t.add(-0.4)
    elif kind is HELP:
        need = 0.25 + 0.5 * min(1.0, s.peril) + 0.25 * their_wounds
        loyal = 0.15 if "loyal" in traits else 0.0
        t.add(loy * (0.3 + warm * 0.8) * need + loyal, "loyalty", who)
        t.add(rel * (0.1 + trust * 0.5) * need, "warmth", who)
        t.add(mor * (0.3 * need + 0.2 * their_wounds), "conscience")
        if "kind" in traits:
            t.add(0.3 * need, "trait:kind")
        if owe:
            t.add(0.3 * owe, "gratitude", who)
        if their_wounds:
            t.add(0.2 * their_wounds * loy, "loyalty", who)
        if their_aid >= 2:
            t.add(-0.3)
        if goal_person:
            t.add(0.4, "goal", goal_person)
        if trust < -0.3:
            t.add(-0.3)
    elif kind is SHARE:
        t.add(loy * (0.1 + warm), "loyalty", who)
        t.add(rel * trust * 0.6, "warmth", who)
        if trust < -0.2:
            t.add(0.6 * trust * (1.5 if "betrayal" in p.fear_themes else 1.0))
    elif kind is BARGAIN:
        if knows_more:
            t.add(mis * 0.45, "clues")
            if "curious" in traits:
                t.add(0.2, "curiosity")
        elif not s.stocked:
            t.add(-0.4)
        t.add(rel * 0.3 * (1.0 - abs(trust)), "warmth", who)
    elif kind is CONFRONT:
        t.add(rel * cold, "distrust", who)
        if grudge:
            t.add(0.5 * grudge, "grudge", who)
        if cold > 0.2:
            t.add(mor * (cold - 0.2) * 0.6, "justice", who)
        if knows_more:
            t.add(mis * 0.35, "clues")
        if trust < 0 and "suspicious" in traits:
            t.add(0.2, "trait:suspicious")
        if warm:
            t.add(-loy * warm)
        if trust < -0.1 and "betrayal" in p.fear_themes:
            t.add(0.3, "fear", s.fear("betrayal"))
        if fear_person:
            t.add(-0.4)
    elif kind is DECEIVE:
        if their_trust < -0.3:
            t.add(-0.3)
        if knows_more:
            t.add(mis * 0.3, "clues")
        t.add(rel * cold * 0.5 - loy * warm * 1.2, "distrust", who)
    return t


def _shrink(p: Profile, wounds: int, tension: float, rise: float, level: float) -> float:
    """How much a persona shrinks from going where danger is ``level``, ``rise`` above where it
    would otherwise stand. It weighs the rise as it would once there, wanting to hide or slip
    back (w_sp, caution and a fear of harm, more so as tension grows), plus its wounds; where
    peril strikes (danger 0.5 or more) the cautious balk further and the bold are drawn
    (negative)."""
    shrink = 0.0
    if rise > 0:
        sp = p.self_preservation
        unease = 1.8 * sp + 0.5 * p.has("cautious")
        if "harm" in p.fear_themes:
            unease += 0.6
        weight = 1.2 * sp + unease * (0.5 + 0.5 * tension) + 0.3 * wounds
        shrink = weight * rise
    if level >= PERIL_DANGER:
        shrink += (0.3 * p.has("cautious") - 0.15 * p.has("bold")) * level
    return shrink


def _heading(s: _Situation, goal: str, dest: str) -> bool:
    """Whether moving to ``dest`` shortens the way from here to ``goal``."""
    now, then = s.index.moves(s.here, goal), s.index.moves(dest, goal)
    return then is not None and (now is None or then < now)


def _beyond(s: _Situation, goal: str, dest: str) -> float:
    """What is still to be braved on the way to ``goal`` after stepping to ``dest``."""
    level = s.world.danger.get(goal, 0.0)
    rise = level - s.world.danger.get(dest, 0.0)
    return _shrink(s.p, s.wounds, s.tension, rise, level)


def _move_terms(t: _Tally, dest: str, s: _Situation) -> None:
    """Where a move leads: safety, clues, allies, objectives, fears, foes left behind.

    Clues and objectives pull from afar: a move counts as heading for them when it shortens the
    way there (in moves along the exits), not only when it arrives, and the danger still ahead
    there tempers the pull, so a persona does not set out for a place it would flee on arrival.
    """
    p = s.p
    sp, loy, rel, mis = p.self_preservation, p.loyalty, p.relationships, p.mission
    there = s.world.danger.get(dest, 0.0)
    gain = s.danger - there
    if gain > 0:
        t.add(sp * gain * 1.3, "flee")
        if "harm" in p.fear_themes:
            t.add(0.5 * gain, "fear", s.fear("harm"))
    shrink = _shrink(p, s.wounds, s.tension, -gain, there)
    if shrink < 0:
        t.add(-shrink, "trait:bold")
    else:
        t.add(-shrink)
    here_clues = s.clue_moves(s.here)
    if here_clues:  # None: nothing left to find anywhere; 0: something to find right here
        lure = mis * 0.6 + p.has("curious") * 0.3 + (0.2 if "truth" in p.goal_themes else 0.0)
        cost = min(
            (_beyond(s, place, dest) for place in s.clue_places if _heading(s, place, dest)),
            default=None,
        )
        if cost is not None and lure - cost - s.here_drive > 0:
            t.add(mis * 0.6, "clues")
            t.add(p.has("curious") * 0.3, "curiosity")
            if "truth" in p.goal_themes:
                t.add(0.2, "goal", s.goal("truth"))
            t.add(-cost - s.here_drive)  # not at the cost of work only this place allows
    best_pull, best_objective = 0.0, None
    for name, drive in s.drive.items():
        home = s.index.objective_home.get(name)
        if home is None or home == s.here or not _heading(s, home, dest):
            continue
        # A job that waits in one place calls a little louder than one that can be done
        # anywhere, but never louder than the job only this place allows.
        pull = TRAVEL_PULL * drive - s.here_drive - _beyond(s, home, dest)
        if pull > best_pull:
            best_pull, best_objective = pull, name
    if best_objective is not None:
        t.add(best_pull, "mission", best_objective)
    ally = s.allies_at.get(dest)
    if ally is not None and s.here not in s.allies_at:
        t.add(loy * 0.35, "loyalty", s.name(ally))
        if "solitude" in p.fear_themes:
            t.add(0.4, "company")
    if not s.present and dest in s.world.positions.values():
        t.add(0.1 + rel * 0.2, "company")
    if s.here not in s.goal_people_at:
        # A goal names someone ("earn a place in Edda's log-book"): go where they are.
        sought = next(
            (goal for place, goal in s.goal_people_at.items() if _heading(s, place, dest)), None
        )
        if sought is not None:
            t.add(0.35, "goal", sought)
    if dest == s.came_from:
        # Set out from there last turn: turning back takes a reason (a wound is half of one).
        t.add(-BACKTRACK * (0.5 if s.wounds else 1.0))
    if dest in s.b.fear_places:
        t.add(-0.8)
    if s.here in s.b.fear_places:
        t.add(0.5, "fear", s.b.fear_places[s.here])
    foe = next((o for o in s.present if s.trust.get(o, 0.0) < -0.4), None)
    if foe is not None and s.world.positions.get(foe) != dest:
        t.add(sp * 0.3 + 0.05, "distrust", s.name(foe))


def _policy_rng(context: DecisionContext) -> random.Random:
    """The persona's seeded stream for this turn, keyed by its name (``engine.cast``), not its
    id: the same seed and cast choose alike whatever ids the personas were given."""
    keys = persona_keys(context.world.positions, context.names)
    key = keys.get(context.persona_id, context.persona_id)
    return rng_for(context.seed, context.turn, key, "policy")


def score_options(context: DecisionContext) -> tuple[ScoredOption, ...]:
    """Every option of ``context`` with its score (noise included), in option order."""
    rng = _policy_rng(context)
    situation = _Situation(context, profile_of(context.sheet), index_of(context.brief))
    scored = []
    for option in context.options:
        tally = _score(option, situation)
        noise = rng.random() * NOISE
        factor = tally.factor if tally.top >= DRIVE_FLOOR else "idle"
        scored.append(ScoredOption(option, tally.total + noise, noise, factor, tally.subject))
    return tuple(scored)


def _best(context: DecisionContext, rng: random.Random) -> ScoredOption:
    """The highest-scoring option (the first of equals), as ``score_options`` would rank it."""
    situation = _Situation(context, profile_of(context.sheet), index_of(context.brief))
    best_score = float("-inf")
    best_option = context.options[0]
    best_tally = _Tally()
    best_noise = 0.0
    random_ = rng.random
    for option in context.options:
        tally = _score(option, situation)
        noise = random_() * NOISE
        score = tally.total + noise
        if score > best_score:
            best_score, best_option, best_tally, best_noise = score, option, tally, noise
    factor = best_tally.factor if best_tally.top >= DRIVE_FLOOR else "idle"
    return ScoredOption(best_option, best_score, best_noise, factor, best_tally.subject)


def _slots(choice: ScoredOption, context: DecisionContext) -> dict[str, str]:
    index = index_of(context.brief)
    here = context.world.positions[context.persona_id]
    option = choice.option
    slots = {"place": index.name_of(here)}
    if option.action in (MOVE, HIDE) and option.target is not None:
        slots["dest"] = index.name_of(option.target)
    elif option.action is PURSUE and option.target is not None:
        slots["obj"] = objective_phrase(option.target)
    elif option.target_name is not None:
        slots["t"] = short_name(option.target_name)
    subject = choice.subject
    if subject:
        proper: set[str] = set()
        if choice.factor in ("fear", "goal"):
            for name in context.names.values():
                proper.update(name.split())
            for loc in index.locations:
                proper.update(loc.name.split())
        if choice.factor == "fear":
            slots["fear"] = soften(subject, proper)
        elif choice.factor == "goal":
            slots["goal"] = soften(subject, proper)
        elif choice.factor == "mission":
            slots["obj"] = objective_phrase(subject)
        elif choice.factor in ("loyalty", "warmth", "gratitude", "distrust", "grudge", "justice"):
            slots["t"] = short_name(subject)
    return slots


def decide_offline(context: DecisionContext) -> Decision:
    """Choose ``context.persona_id``'s action: deterministic for (seed, turn, persona name)."""
    if not context.options:
        raise ValueError(f"persona {context.persona_id!r} has no options to choose from")
    rng = _policy_rng(context)
    best = _best(context, rng)
    profile = profile_of(context.sheet)
    factor = best.factor
    if factor in ("fear", "goal") and not best.subject:
        factor = "idle"
    if factor == "idle" and best.option.action is not WAIT:
        factor = "default"
    reason = phrase_reason(profile, factor, best.option.action, _slots(best, context), rng)
    return Decision(
        action=best.option.action,
        target=best.option.target,
        reasoning=reason,
        provenance=OFFLINE,
    )
