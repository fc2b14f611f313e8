"""From ledger entries to story beats: who did what to whom where, grouped the way a reader sees it.

An ``Act`` is one ledger entry read for the story (its place and destination names, the clue or
objective it touched, how much it matters). A ``Beat`` is what one sentence tells: a single act,
a group doing the same quiet thing, a crowd at one task with mixed luck, a round of mutual aid, a
quiet act set beside a louder one, or two personas acting on each other in the same turn. A
``Scene`` is the beats of one place in one turn.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from dramatis.domain.actions import PERSONA_TARGETED, ActionKind
from dramatis.domain.ledger import ActionEntry, TurnLedger
from dramatis.engine.prose.context import ChronicleContext

_BASE_SALIENCE: dict[ActionKind, int] = {
    ActionKind.WAIT: 0,
    ActionKind.DEFEND: 1,
    ActionKind.HIDE: 1,
    ActionKind.MOVE: 1,
    ActionKind.SEARCH: 2,
    ActionKind.PURSUE: 2,
    ActionKind.HELP: 2,
    ActionKind.SHARE: 3,
    ActionKind.BARGAIN: 3,
    ActionKind.CONFRONT: 4,
    ActionKind.DECEIVE: 4,
}
_MINOR = frozenset({ActionKind.WAIT, ActionKind.DEFEND, ActionKind.HIDE})
_GROUPABLE = frozenset({ActionKind.WAIT, ActionKind.DEFEND, ActionKind.MOVE, ActionKind.SEARCH})
_MISSED = re.compile(r"(was no longer there|could not find )", re.IGNORECASE)
_NOTHING_TO_TELL = re.compile(r"nothing new to tell", re.IGNORECASE)
_NOTHING_FOUND = re.compile(r"found nothing new|someone had been through it", re.IGNORECASE)
_PERIL = re.compile(
    r"(was badly hurt|was hurt|had a close call)(?: and fell back to (?P<refuge>[^;]+))?",
    re.IGNORECASE,
)
_MILESTONE = re.compile(r"milestone|completed|reached \(", re.IGNORECASE)
_OFFER = re.compile(r"(a share of the [^;,]+?|a promise)(?= with| for|;|$)", re.IGNORECASE)
_TRUST_UP = re.compile(r"trust\s+(rose|grew|rises|up|increased)", re.IGNORECASE)
_TRUST_DOWN = re.compile(r"trust\s+(fell|fall|falls|dropped|collapsed|down|broke)", re.IGNORECASE)


@dataclass(frozen=True)
class Act:
    """One ledger entry, read for the story."""

    turn: int
    index: int  # position in the turn's action log
    kind: ActionKind
    outcome: str  # success | partial | failure
    key: str  # the grammar's outcome key: success | partial | failure | empty
    actor_id: str
    actor: str
    place_id: str
    place: str
    target_id: str | None = None
    target: str | None = None
    dest_id: str | None = None
    dest: str | None = None
    clue: str | None = None
    objective: str | None = None
    reason: str = ""
    trust: int = 0  # +1 / -1 when the act moved trust, 0 otherwise
    salience: int = 0
    peril: str | None = None  # hurt | badly | close: what the place did to the actor afterwards
    refuge_id: str | None = None  # where a hurt actor fell back to
    refuge: str | None = None
    offer: str | None = None  # what a bargain gave, e.g. "a share of the water skins"

    @property
    def minor(self) -> bool:
        """Quiet acts that can stand beside another persona's act in one sentence."""
        return self.kind in _MINOR and self.target is None and self.dest is None

    @property
    def end_place_id(self) -> str:
        """Where the actor is after the act."""
        if self.refuge_id:
            return self.refuge_id
        if self.kind is ActionKind.MOVE and self.outcome != "failure" and self.dest_id:
            return self.dest_id
        if self.kind is ActionKind.HIDE and self.outcome != "failure" and self.dest_id:
            return self.dest_id
        return self.place_id


@dataclass(frozen=True)
class Beat:
    """What one sentence (or a short run of them) tells."""

    shape: str  # solo | group | crowd | aid | while | exchange
    acts: tuple[Act, ...]

    @property
    def lead(self) -> Act:
        """The act the sentence is built around."""
        return self.acts[0]

    @property
    def salience(self) -> int:
        """How much the beat matters."""
        return max(act.salience for act in self.acts)


@dataclass(frozen=True)
class Scene:
    """Everything that happened in one place during one turn."""

    place_id: str
    place: str
    beats: tuple[Beat, ...]

    @property
    def salience(self) -> int:
        """The loudest beat's salience."""
        return max((beat.salience for beat in self.beats), default=0)


def read_act(entry: ActionEntry, turn: int, index: int, ctx: ChronicleContext) -> Act:
    """Interpret one ledger entry."""
    kind = ActionKind(entry.action)
    target_id: str | None = None
    target: str | None = None
    dest_id: str | None = None
    dest: str | None = None
    if entry.target and (
        kind in PERSONA_TARGETED or (kind is ActionKind.DEFEND and entry.target in ctx.names)
    ):
        target_id = entry.target
        target = ctx.name(entry.target, entry.target_name or entry.target)
    if (
        kind in (ActionKind.MOVE, ActionKind.HIDE)
        and entry.target
        and entry.target != entry.location
    ):
        dest_id = entry.target
        dest = ctx.place(entry.target) if entry.target in ctx.place_names else entry.target_name
    clue = None
    if kind in (
        ActionKind.SEARCH,
        ActionKind.SHARE,
        ActionKind.CONFRONT,
        ActionKind.BARGAIN,
        ActionKind.DECEIVE,
    ):
        clue = ctx.clue_in(entry.consequence)
        if clue is None and kind is ActionKind.SHARE:
            clue = ctx.clue_in(entry.reasoning)
    if entry.outcome == "failure" and kind is not ActionKind.SHARE:
        clue = None
    objective = None
    if kind is ActionKind.PURSUE:
        raw = entry.target_name or entry.target or ""
        named = ctx.objective_in(raw) or raw
        objective = ctx.objective_phrase(named) if named else None
    consequence = entry.consequence
    key = entry.outcome
    if (
        kind is ActionKind.SEARCH
        and clue is None
        and (_NOTHING_FOUND.search(consequence) or entry.outcome == "success")
    ):
        key = "empty"
    if target_id and _MISSED.search(consequence):
        key = "missed"
    elif kind is ActionKind.SHARE and _NOTHING_TO_TELL.search(consequence):
        key = "nothing"
    elif (
        kind is ActionKind.PURSUE and entry.outcome != "failure" and _MILESTONE.search(consequence)
    ):
        key = "milestone"
    peril = refuge_id = refuge = None
    if match := _PERIL.search(consequence):
        peril = {"was badly hurt": "badly", "was hurt": "hurt"}.get(match.group(1).lower(), "close")
        if match.group("refuge"):
            refuge_id = ctx.location_named(match.group("refuge"))
            refuge = ctx.place(refuge_id) if refuge_id else match.group("refuge").strip()
    offer = None
    if (
        kind is ActionKind.BARGAIN
        and entry.outcome != "failure"
        and (found := _OFFER.search(consequence))
    ):
        offer = found.group(1).strip()
    trust = 0
    if _TRUST_UP.search(entry.consequence):
        trust = 1
    elif _TRUST_DOWN.search(entry.consequence) or (
        kind is ActionKind.DECEIVE and entry.outcome == "failure"
    ):
        trust = -1
    elif kind in (ActionKind.HELP, ActionKind.SHARE) and entry.outcome == "success":
        trust = 1
    salience = _BASE_SALIENCE[kind]
    if clue:
        salience += 3
    if kind is ActionKind.DECEIVE and entry.outcome == "failure":
        salience += 2
    if kind is ActionKind.MOVE and entry.outcome == "failure":
        salience += 1
    if key == "milestone":
        salience += 4
    if key == "missed":
        salience = 1
    if peril in ("hurt", "badly"):
        salience += 2
    return Act(
        turn=turn,
        index=index,
        kind=kind,
        outcome=entry.outcome,
        key=key,
        actor_id=entry.persona_id,
        actor=ctx.name(entry.persona_id, entry.persona_name),
        place_id=entry.location,
        place=ctx.place(entry.location),
        target_id=target_id,
        target=target,
        dest_id=dest_id,
        dest=dest,
        clue=clue,
        objective=objective,
        reason=entry.reasoning,
        trust=trust,
        salience=salience,
        peril=peril,
        refuge_id=refuge_id,
        refuge=refuge,
        offer=offer,
    )


def read_turn(ledger: TurnLedger, ctx: ChronicleContext) -> list[Act]:
    """Every act of a turn, in ledger order."""
    return [read_act(e, ledger.turn_number, i, ctx) for i, e in enumerate(ledger.action_log)]


def build_scenes(acts: Sequence[Act], rng: random.Random, *, hot_first: bool) -> list[Scene]:
    """Group a turn's acts into scenes by place, and each scene's acts into beats, in story order.

    Quieter scenes come first so a turn builds to its loudest moment; when ``hot_first`` the
    loudest scene opens the turn instead.
    """
    by_place: dict[str, list[Act]] = defaultdict(list)
    for act in acts:
        by_place[act.place_id].append(act)
    scenes = [
        Scene(place_id, group[0].place, tuple(_beats(group, rng)))
        for place_id, group in by_place.items()
    ]
    jitter = {scene.place_id: rng.random() for scene in scenes}
    scenes.sort(key=lambda s: (s.salience, jitter[s.place_id]))
    if hot_first and len(scenes) > 1:
        scenes.insert(0, scenes.pop())
    return scenes


def _beats(acts: list[Act], rng: random.Random) -> list[Beat]:
    remaining = list(acts)
    beats: list[Beat] = []
    # Two personas acting on each other in the same turn: one exchange.
    for act in list(remaining):
        if act not in remaining or act.target_id is None:
            continue
        answer = next(
            (
                other
                for other in remaining
                if other is not act
                and other.actor_id == act.target_id
                and other.target_id == act.actor_id
            ),
            None,
        )
        if answer is not None:
            remaining.remove(act)
            remaining.remove(answer)
            first, second = sorted((act, answer), key=lambda a: (a.salience, a.index))
            beats.append(Beat("exchange", (first, second)))
    # Three or more helping hands in one place: one montage of mutual aid.
    helpers = [
        a for a in remaining if a.kind is ActionKind.HELP and a.key != "missed" and not a.peril
    ]
    if len(helpers) >= 3:
        for helper in helpers:
            remaining.remove(helper)
        beats.append(Beat("aid", tuple(helpers)))
    # Several personas working at the same objective: one crowd, whatever each one's luck.
    crowds: dict[str, list[Act]] = defaultdict(list)
    for act in remaining:
        if (
            act.kind is ActionKind.PURSUE
            and act.objective
            and act.key != "milestone"
            and act.peril is None
        ):
            crowds[act.objective].append(act)
    for members in crowds.values():
        if len(members) >= 2:
            for member in members:
                remaining.remove(member)
            same = len({member.key for member in members}) == 1
            beats.append(Beat("group" if same else "crowd", tuple(members)))
    # Several personas doing the same quiet thing: one group sentence.
    grouped: dict[tuple[object, ...], list[Act]] = defaultdict(list)
    for act in remaining:
        if act.kind in _GROUPABLE and act.target is None and act.clue is None:
            grouped[(act.kind, act.key, act.dest_id)].append(act)
    for members in grouped.values():
        if len(members) >= 2:
            for member in members:
                remaining.remove(member)
            beats.append(Beat("group", tuple(members)))
    # A quiet act set beside a louder one.
    majors = sorted((a for a in remaining if not a.minor), key=lambda a: -a.salience)
    minors = [a for a in remaining if a.minor]
    for major in majors:
        if not minors or major.salience < 2:
            break
        partners = [m for m in minors if m.actor_id != major.target_id]
        if partners and rng.random() < 0.55:
            minor = partners[0]
            minors.remove(minor)
            remaining.remove(major)
            remaining.remove(minor)
            beats.append(Beat("while", (major, minor)))
    beats.extend(Beat("solo", (act,)) for act in remaining)
    jitter = [rng.random() for _ in beats]
    order = sorted(range(len(beats)), key=lambda i: (beats[i].salience, jitter[i]))
    return [beats[i] for i in order]
