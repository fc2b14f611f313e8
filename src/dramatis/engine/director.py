"""The director: resolves a turn of decisions into a ledger and the next world state.

It also builds each persona's ``DecisionContext`` and the readable text of that context, the
exact words a brain (or a person) is given to decide on. docs/turns.md describes the steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from dramatis.domain.actions import ActionKind
from dramatis.domain.context import DecisionContext
from dramatis.domain.fingerprint import state_hash
from dramatis.domain.ledger import ActionEntry, Decision, FiredEvent, Provenance, TurnLedger
from dramatis.domain.sheet import CORE_WEIGHTS, CharacterSheet
from dramatis.domain.world import WorldBrief, WorldState
from dramatis.engine.cast import cast_order, in_key_order, persona_keys
from dramatis.engine.dice import rng_for
from dramatis.engine.policy import decide_offline
from dramatis.engine.resolve import resolve_action, resolve_peril, settle_tension
from dramatis.engine.rules import (
    PRIORITY,
    STEP_EFFORT,
    Resolution,
    TurnRules,
    available_actions,
    is_available,
)
from dramatis.engine.state import ACTION_ORDER, Scratch
from dramatis.engine.traits import profile_of
from dramatis.engine.world import BriefIndex, fire_events, index_of

K = ActionKind
IDLE_REASON = "No decision came in time; I hold still and watch."


@dataclass(frozen=True, slots=True)
class TurnResolution:
    """A resolved turn: its immutable ledger and the world after it."""

    ledger: TurnLedger
    world: WorldState

    @property
    def state_hash(self) -> str:
        """The fingerprint ``TurnAdvanced`` records for this turn (``domain.fingerprint``)."""
        return state_hash(self.world, self.ledger)


@lru_cache(maxsize=256)
def _default_sheet(name: str) -> CharacterSheet:
    return CharacterSheet(name=name)


def _idle_decision() -> Decision:
    return Decision(action=K.WAIT, reasoning=IDLE_REASON, provenance=Provenance(source="offline"))


def resolve_turn(
    world: WorldState,
    brief: WorldBrief,
    decisions: Mapping[str, Decision],
    sheets: Mapping[str, CharacterSheet],
    names: Mapping[str, str],
    seed: int,
    turn: int,
    timestamp: str,
    duration_seconds: float,
) -> TurnResolution:
    """Resolve ``turn``: every persona's decision, end-of-turn peril, then brief events.

    Actions resolve in a fixed order of kinds (hide, defend, help, share, bargain, confront,
    deceive, search, pursue, wait, move) and, within a kind, in a seeded initiative order; the
    ledger lists them in that order. Dice and initiative follow the personas' names
    (``engine.cast``), never their ids, so the same seed and cast replay the same turn whatever
    ids the personas were given. A persona without a decision waits; a decision that is not
    among its available actions fails.
    """
    if world.complete:
        raise ValueError("the campaign's world is complete; no more turns can be resolved")
    if turn != world.turn + 1:
        raise ValueError(f"turn {turn} cannot follow turn {world.turn}; turns are contiguous")
    unknown = sorted(set(decisions) - set(world.positions))
    if unknown:
        raise ValueError(f"decisions for personas not in this world: {', '.join(unknown)}")
    index = index_of(brief)
    keys = persona_keys(world.positions, names)
    personas = in_key_order(world.positions, keys)
    profiles = {
        pid: profile_of(sheets.get(pid) or _default_sheet(names.get(pid, pid))) for pid in personas
    }
    rules = TurnRules(
        brief=brief, index=index, profiles=profiles, names=names, seed=seed, turn=turn
    )
    s = Scratch.from_world(world, keys)
    s.turn = turn
    s.decay_marks()
    chosen = {pid: decisions.get(pid) or _idle_decision() for pid in personas}
    initiative = list(personas)
    rng_for(seed, turn, "initiative").shuffle(initiative)
    position = {pid: i for i, pid in enumerate(initiative)}
    order = sorted(personas, key=lambda pid: (PRIORITY[chosen[pid].action], position[pid]))

    resolutions: list[Resolution] = []
    rngs = {pid: rng_for(seed, turn, keys[pid], "resolve") for pid in personas}
    for pid in order:
        decision = chosen[pid]
        rng = rngs[pid]
        if is_available(world, brief, pid, decision.action, decision.target):
            result = resolve_action(s, rules, pid, decision.action, decision.target, rng)
        else:
            result = _impossible(s, rules, pid, decision, rng.randint(1, 20))
        _remember(s, pid, decision.action)
        resolutions.append(result)

    notes: dict[str, str] = {}
    for pid in personas:
        note = resolve_peril(s, rules, pid, rngs[pid])
        if note:
            notes[pid] = note
    for pid in personas:
        _remember_way(s, index, pid, world.positions[pid])
    settle_tension(s, brief.tension)
    fired = fire_events(s, brief)

    entries = []
    for result in resolutions:
        decision = chosen[result.persona_id]
        consequence = result.consequence
        if result.persona_id in notes:
            consequence = f"{consequence}; then {notes[result.persona_id]}"
        entries.append(
            ActionEntry(
                persona_id=result.persona_id,
                persona_name=names.get(result.persona_id, result.persona_id),
                action=result.action,
                target=result.target,
                target_name=result.target_name,
                reasoning=decision.reasoning,
                outcome=result.outcome,
                roll=result.die,
                location=result.location,
                consequence=consequence,
                source=decision.provenance.source,
                modifier=result.modifier,
                difficulty=result.difficulty,
            )
        )
    after = s.freeze()
    ledger = TurnLedger(
        turn_number=turn,
        timestamp=timestamp,
        action_log=tuple(entries),
        duration_seconds=max(0.0, duration_seconds),
        events=tuple(FiredEvent(id=e.id, title=e.title, text=e.text) for e in fired),
        tension_before=world.tension,
        tension_after=after.tension,
    )
    return TurnResolution(ledger=ledger, world=after)


def _remember(s: Scratch, pid: str, action: ActionKind) -> None:
    """Record the persona's action kind and how many turns in a row it has chosen it."""
    kind = float(ACTION_ORDER.index(action))
    same = s.flags.get(f"last:{pid}") == kind
    s.flags[f"last:{pid}"] = kind
    s.flags[f"streak:{pid}"] = s.flags.get(f"streak:{pid}", 1.0) + 1.0 if same else 1.0


def _remember_way(s: Scratch, index: BriefIndex, pid: str, before: str) -> None:
    """Record where the persona came from when it changed place this turn (``left:``)."""
    key = f"left:{pid}"
    ids = [loc.id for loc in index.locations]
    if s.positions[pid] != before and before in ids:
        s.flags[key] = float(ids.index(before))
    else:
        s.flags.pop(key, None)


def _impossible(s: Scratch, rules: TurnRules, pid: str, decision: Decision, die: int) -> Resolution:
    """A decision that is not among the persona's options: recorded, failed, harmless."""
    here = s.positions[pid]
    target = decision.target
    target_name: str | None = None
    if target is not None:
        if target in rules.index.by_id:
            target_name = rules.index.name_of(target)
        elif target in rules.names:
            target_name = rules.name(target)
        else:
            target_name = target
    what = (
        f"{decision.action.value} {target_name}".strip() if target_name else decision.action.value
    )
    s.perceive(pid, f"You meant to {what}, but that was not possible from where you stood.")
    return Resolution(
        persona_id=pid,
        action=decision.action,
        target=target,
        target_name=target_name,
        location=here,
        die=die,
        modifier=0,
        difficulty=0,
        outcome="failure",
        consequence=f"could not {what} from {rules.index.name_of(here)}",
    )


def build_context(
    world: WorldState,
    brief: WorldBrief,
    persona_id: str,
    sheet: CharacterSheet,
    names: Mapping[str, str],
    seed: int,
    *,
    turn: int | None = None,
    campaign_id: str = "",
    tenant_id: str = "default",
) -> DecisionContext:
    """The context ``persona_id`` decides in for the next turn (``world.turn + 1`` by default)."""
    return DecisionContext(
        campaign_id=campaign_id,
        tenant_id=tenant_id,
        seed=seed,
        turn=turn if turn is not None else world.turn + 1,
        persona_id=persona_id,
        sheet=sheet,
        world=world,
        brief=brief,
        names=dict(names),
        options=available_actions(world, brief, persona_id, names),
    )


def play_offline_turn(
    world: WorldState,
    brief: WorldBrief,
    sheets: Mapping[str, CharacterSheet],
    names: Mapping[str, str],
    seed: int,
    *,
    timestamp: str = "1970-01-01T00:00:00Z",
    duration_seconds: float = 0.0,
    overrides: Mapping[str, Decision] | None = None,
) -> TurnResolution:
    """Decide every persona with the offline policy (unless overridden) and resolve the turn."""
    turn = world.turn + 1
    decisions: dict[str, Decision] = {}
    for pid in cast_order(world.positions, names):
        if overrides is not None and pid in overrides:
            decisions[pid] = overrides[pid]
            continue
        sheet = sheets.get(pid) or _default_sheet(names.get(pid, pid))
        decisions[pid] = decide_offline(build_context(world, brief, pid, sheet, names, seed))
    return resolve_turn(
        world, brief, decisions, sheets, names, seed, turn, timestamp, duration_seconds
    )


# ---------------------------------------------------------------------- the context as text


def _tension_word(value: float) -> str:
    if value < 0.25:
        return "calm"
    if value < 0.5:
        return "uneasy"
    if value < 0.75:
        return "tense"
    return "on a knife's edge"


def _danger_word(value: float) -> str:
    if value <= 0.0:
        return "safe"
    if value < 0.3:
        return "low"
    if value < 0.6:
        return "moderate"
    return "high"


def _trust_word(value: float) -> str:
    value = round(value, 2)
    if value >= 0.5:
        return "close"
    if value >= 0.2:
        return "friendly"
    if value > -0.2:
        return "neutral"
    if value > -0.5:
        return "wary"
    return "hostile"


def describe_context(context: DecisionContext) -> str:
    """The full text a persona is given to decide on: who, where, with whom, what it saw and
    knows, and its options, numbered."""
    sheet = context.sheet
    world = context.world
    pid = context.persona_id
    index = index_of(context.brief)
    here = world.positions[pid]
    location = index.by_id.get(here)
    name = context.names.get(pid, sheet.name)
    out: list[str] = []
    add = out.append

    intro = f"You are {name}."
    if sheet.summary:
        intro += f" {sheet.summary.strip()}"
    add(intro)
    if sheet.personality:
        add(f"Personality: {', '.join(sheet.personality)}.")
    weights = ", ".join(f"{w.replace('_', '-')} {sheet.weight(w):.1f}" for w in CORE_WEIGHTS)
    add(f"What weighs with you (0 to 1): {weights}.")
    if sheet.goals:
        add(f"Your goals: {'; '.join(sheet.goals)}.")
    if sheet.fears:
        add(f"Your fears: {'; '.join(sheet.fears)}.")
    if sheet.speech:
        add(f"Your voice: {sheet.speech.strip()}")
    if context.brief.opening:
        add("")
        add(f"The story: {context.brief.opening.strip()}")

    add("")
    add(f"Turn {context.turn}. Tension {world.tension:.2f} ({_tension_word(world.tension)}).")
    level = world.danger.get(here, 0.0)
    where = f"You are in {index.name_of(here)}"
    if location is not None and location.description:
        where += f": {location.description.strip().rstrip('.')}"
    add(f"{where}. Danger here: {level:.2f} ({_danger_word(level)}).")
    exits = [index.name_of(x) for x in index.neighbours.get(here, ())]
    if exits:
        add(f"From here you can reach: {', '.join(exits)}.")
    trust_row = world.trust.get(pid, {})
    cast = cast_order(world.positions, context.names)
    present = [o for o in cast if o != pid and world.positions[o] == here]
    if present:
        people = [
            f"{context.names.get(o, o)} (your trust {trust_row.get(o, 0.0):+.2f}, "
            f"{_trust_word(trust_row.get(o, 0.0))})"
            for o in present
        ]
        add(f"With you: {'; '.join(people)}.")
    else:
        add("You are alone here.")
    elsewhere = [
        f"{context.names.get(o, o)} (in {index.name_of(world.positions[o])}, "
        f"your trust {trust_row.get(o, 0.0):+.2f})"
        for o in cast
        if o != pid and world.positions[o] != here
    ]
    if elsewhere:
        add(f"Elsewhere: {'; '.join(elsewhere)}.")
    wounds = int(world.flags.get(f"hurt:{pid}", 0.0))
    if wounds:
        add(f"You are hurt: {wounds} wound{'s' if wounds > 1 else ''} (-{wounds} on every roll).")
    aid = int(world.flags.get(f"aid:{pid}", 0.0))
    if aid:
        add(f"Your next roll has {aid:+d}.")
    for other in cast:
        if other == pid:
            continue
        who = context.names.get(other, other)
        if world.flags.get(f"grudge:{pid}:{other}", 0.0) >= 0.5:
            add(f"You resent {who} for what happened.")
        if world.flags.get(f"owe:{pid}:{other}", 0.0) >= 0.5:
            add(f"You owe {who} for their help.")

    add("")
    seen = world.perceptions.get(pid, ())
    if seen:
        add("Since last turn:" if context.turn > 1 else "As it begins:")
        out.extend(f"- {line}" for line in seen)
    else:
        add("Since last turn: nothing you saw stood out.")
    known = world.knowledge.get(pid, ())
    if known:
        add(f"You know of: {'; '.join(known)}.")
    else:
        add("You have found no clues yet.")
    total = len(world.discovered_clues) + len(world.hidden_clues)
    if total:
        add(f"Clues found so far by anyone: {len(world.discovered_clues)} of {total}.")
    objectives = []
    for title, objective in index.objectives.items():
        count = world.counters.get(title, 0)
        line = f"{title} {count}/{objective.target}"
        effort = int(world.flags.get(f"effort:{title}", 0.0))
        if count >= objective.target:
            line += " (done)"
        elif effort:
            line += f", next step {effort}/{STEP_EFFORT}"
        elif title in index.objective_home:
            line += f" (worked on at {index.name_of(index.objective_home[title])})"
        objectives.append(line)
    if objectives:
        add(f"Objectives: {'; '.join(objectives)}.")
    supplies = [f"{k} {v}" for k, v in world.resources.items()]
    if supplies:
        add(f"Shared supplies: {', '.join(supplies)}.")

    add("")
    add("What do you do?")
    out.extend(f"{i}. {option.label}" for i, option in enumerate(context.options, start=1))
    add("")
    add("Choose one option by its number and say why in one sentence, in your own voice.")
    return "\n".join(out)
