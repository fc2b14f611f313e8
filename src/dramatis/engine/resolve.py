"""What each action does: the resolvers behind ``resolve_action``, end-of-turn peril and drift.

The numbers (difficulties, tension and trust changes) are the constants of ``rules``;
docs/turns.md lists them.
"""

from __future__ import annotations

import random

from dramatis.domain.actions import ActionKind
from dramatis.domain.ledger import Outcome
from dramatis.engine.dice import check, d20, half_up
from dramatis.engine.rules import (
    EFFORT,
    PERIL_DANGER,
    PERIL_TENSION,
    SAFE_DANGER,
    STEP_EFFORT,
    TENSION_CALM,
    TENSION_CAUGHT,
    TENSION_CLOCK,
    TENSION_CONFRONT,
    TENSION_DECEIVE_SUCCESS,
    TENSION_FAILURE,
    TENSION_HURT,
    TENSION_PRESSURE,
    TENSION_PURSUE_PARTIAL,
    TENSION_SEARCH_FAILURE,
    TENSION_SETTLE,
    TRUST_BARGAIN,
    TRUST_CAUGHT,
    TRUST_CAUGHT_WITNESS,
    TRUST_CONFRONT,
    TRUST_DEFEND_ALLY,
    TRUST_FOOLED,
    TRUST_HELP,
    TRUST_SECRET_FIND,
    TRUST_SHARE,
    Resolution,
    TurnRules,
    clue_to_share,
    safer_neighbour,
)
from dramatis.engine.state import MAX_WOUNDS, Scratch

K = ActionKind


class _Act:
    """One action being resolved: the actor, its roll and where it happens."""

    __slots__ = ("action", "actor", "here", "profile", "rng", "rules", "s", "target")

    def __init__(
        self,
        s: Scratch,
        rules: TurnRules,
        actor: str,
        action: ActionKind,
        target: str | None,
        rng: random.Random,
    ) -> None:
        self.s = s
        self.rules = rules
        self.actor = actor
        self.action = action
        self.target = target
        self.rng = rng
        self.here = s.positions[actor]
        self.profile = rules.profiles[actor]

    @property
    def me(self) -> str:
        return self.rules.name(self.actor)

    @property
    def place(self) -> str:
        return self.rules.index.name_of(self.here)

    def roll(self, difficulty: int, check_name: str | None = None) -> tuple[int, int, Outcome]:
        """Roll for the actor: stat and trait bonus, wounds, and any aid waiting for it."""
        bonus = self.profile.roll_bonus.get(check_name or str(self.action), 0)
        modifier = bonus - self.s.wounds(self.actor) + self.s.take_aid(self.actor)
        result = check(self.rng, modifier, difficulty)
        return result.die, result.modifier, result.outcome

    def done(
        self,
        die: int,
        modifier: int,
        difficulty: int,
        outcome: Outcome,
        consequence: str,
        target_name: str | None = None,
    ) -> Resolution:
        if outcome == "failure" and self.action is not K.WAIT:
            self.s.shift_tension(
                TENSION_SEARCH_FAILURE if self.action is K.SEARCH else TENSION_FAILURE
            )
        return Resolution(
            persona_id=self.actor,
            action=self.action,
            target=self.target,
            target_name=target_name,
            location=self.here,
            die=die,
            modifier=modifier,
            difficulty=difficulty,
            outcome=outcome,
            consequence=consequence,
        )

    def no_roll(self, consequence: str, target_name: str | None = None) -> Resolution:
        """The action could not happen: a recorded natural roll, outcome failure, no tension."""
        return Resolution(
            persona_id=self.actor,
            action=self.action,
            target=self.target,
            target_name=target_name,
            location=self.here,
            die=d20(self.rng),
            modifier=0,
            difficulty=0,
            outcome="failure",
            consequence=consequence,
        )


def _calm(s: Scratch, kind: ActionKind) -> None:
    """A calming success lowers tension in proportion to how high it is."""
    s.shift_tension(-TENSION_CALM[kind] * s.tension)


def _warm(s: Scratch, rules: TurnRules, a: str, b: str, delta: float) -> float:
    """Shift ``a``'s trust in ``b``; a suspicious ``a`` gains trust at half the rate."""
    profile = rules.profiles.get(a)
    if delta > 0 and profile is not None and "suspicious" in profile.traits:
        delta *= 0.5
    return s.shift_trust(a, b, delta)


def _tension(s: Scratch) -> float:
    return s.tension


def _danger(s: Scratch, location: str) -> float:
    return s.danger.get(location, 0.0)


def _resist(rules: TurnRules, persona: str, name: str) -> int:
    profile = rules.profiles.get(persona)
    return profile.roll_bonus.get(name, 0) if profile is not None else 0


def _trust_text(value: float) -> str:
    return f"{value:+.2f}"


def resolve_action(
    s: Scratch,
    rules: TurnRules,
    persona_id: str,
    action: ActionKind,
    target: str | None,
    rng: random.Random,
) -> Resolution:
    """Resolve one action against the working state ``s`` and record what witnesses saw."""
    act = _Act(s, rules, persona_id, action, target, rng)
    handler = _HANDLERS[action]
    return handler(act)


def _move(a: _Act) -> Resolution:
    dest = a.target or a.here
    dest_name = a.rules.index.name_of(dest)
    dc = 6 + half_up(6 * _danger(a.s, a.here))
    die, mod, outcome = a.roll(dc)
    if outcome == "failure":
        a.s.perceive(a.actor, f"You set out for {dest_name} but were turned back.")
        a.s.announce(a.here, f"{a.me} tried to leave for {dest_name} but turned back.", [a.actor])
        return a.done(die, mod, dc, outcome, f"turned back; stayed in {a.place}", dest_name)
    a.s.announce(a.here, f"{a.me} left for {dest_name}.", [a.actor])
    a.s.positions[a.actor] = dest
    a.s.announce(dest, f"{a.me} arrived from {a.place}.", [a.actor])
    if outcome == "partial":
        a.s.add_aid(a.actor, -1)
        a.s.perceive(a.actor, f"You reached {dest_name}, worn out by the way.")
        return a.done(die, mod, dc, outcome, f"reached {dest_name}, worn out", dest_name)
    a.s.perceive(a.actor, f"You went to {dest_name}.")
    return a.done(die, mod, dc, outcome, f"reached {dest_name}", dest_name)


def _hide(a: _Act) -> Resolution:
    s, rules = a.s, a.rules
    dc = 8 + half_up(4 * _tension(s)) + half_up(2 * _danger(s, a.here))
    die, mod, outcome = a.roll(dc)
    if a.target is None:
        if outcome == "failure":
            s.perceive(a.actor, f"You tried to hide in {a.place} and were seen.")
            s.announce(a.here, f"{a.me} tried to hide and was seen.", [a.actor])
            return a.done(die, mod, dc, outcome, "was seen trying to hide")
        rules.protected.add(a.actor)
        if outcome == "partial":
            s.perceive(a.actor, f"You hid in {a.place}, but not well: you were seen.")
            s.announce(a.here, f"{a.me} tried to hide, not very well.", [a.actor])
            return a.done(die, mod, dc, outcome, "hid, but was seen")
        rules.concealed.add(a.actor)
        note = "hid out of sight"
        if _danger(s, a.here) < SAFE_DANGER and s.wounds(a.actor):
            s.set_wounds(a.actor, s.wounds(a.actor) - 1)
            note += " and caught their breath (a wound healed)"
            s.perceive(a.actor, "You hid and caught your breath; one wound healed.")
        else:
            s.perceive(a.actor, f"You hid out of sight in {a.place}.")
        s.announce(a.here, f"{a.me} slipped out of sight.", [a.actor])
        return a.done(die, mod, dc, outcome, note)
    dest = a.target
    dest_name = rules.index.name_of(dest)
    if outcome == "failure":
        s.perceive(a.actor, f"You tried to slip away to {dest_name} and could not.")
        s.announce(a.here, f"{a.me} tried to slip away and was stopped short.", [a.actor])
        return a.done(die, mod, dc, outcome, f"could not get away to {dest_name}", dest_name)
    s.positions[a.actor] = dest
    rules.protected.add(a.actor)
    if outcome == "partial":
        s.announce(a.here, f"{a.me} slipped away toward {dest_name}.", [a.actor])
        s.announce(dest, f"{a.me} crept in from {a.place}.", [a.actor])
        s.perceive(a.actor, f"You slipped away to {dest_name}, but were seen going.")
        return a.done(die, mod, dc, outcome, f"slipped away to {dest_name}, seen going", dest_name)
    rules.concealed.add(a.actor)
    s.announce(a.here, f"{a.me} was suddenly gone.", [a.actor])
    s.perceive(a.actor, f"You slipped away to {dest_name} unseen.")
    return a.done(die, mod, dc, outcome, f"slipped away to {dest_name} unseen", dest_name)


def _reach(a: _Act) -> tuple[str, Resolution | None]:
    """The target's name, or a failed resolution when the target cannot be reached."""
    target = a.target or ""
    who = a.rules.name(target)
    if a.s.positions.get(target) != a.here:
        a.s.perceive(a.actor, f"You looked for {who}, but {who} was no longer there.")
        return who, a.no_roll(f"{who} was no longer there", who)
    if target in a.rules.concealed:
        a.s.perceive(a.actor, f"You looked for {who}, but could not find them.")
        return who, a.no_roll(f"could not find {who}", who)
    return who, None


def _defend(a: _Act) -> Resolution:
    s, rules = a.s, a.rules
    if a.target is None:
        dc = 8 + half_up(4 * _tension(s))
        die, mod, outcome = a.roll(dc)
        if outcome == "failure":
            s.perceive(a.actor, "You tried to stand guard and were caught off balance.")
            s.announce(a.here, f"{a.me} stood guard, clumsily.", [a.actor])
            return a.done(die, mod, dc, outcome, "was caught off guard")
        rules.protected.add(a.actor)
        if outcome == "success":
            _calm(s, K.DEFEND)
            s.perceive(a.actor, "You stood guard; the room felt steadier for it.")
            s.announce(a.here, f"{a.me} stood guard, steady and watchful.", [a.actor])
            return a.done(die, mod, dc, outcome, "stood guard; tension eased")
        s.perceive(a.actor, "You stood guard.")
        s.announce(a.here, f"{a.me} stood guard.", [a.actor])
        return a.done(die, mod, dc, outcome, "stood guard")
    who, failed = _reach(a)
    if failed is not None:
        return failed
    dc = 9 + half_up(4 * _tension(s))
    die, mod, outcome = a.roll(dc)
    target = a.target or ""
    if outcome == "failure":
        s.perceive(a.actor, f"You tried to guard {who} and lost sight of them.")
        s.perceive(target, f"{a.me} tried to guard you, to little effect.")
        return a.done(die, mod, dc, outcome, f"failed to guard {who}", who)
    rules.protected.add(target)
    if outcome == "success":
        trust = _warm(s, rules, target, a.actor, TRUST_DEFEND_ALLY)
        _calm(s, K.DEFEND)
        s.mark("owe", target, a.actor)
        s.perceive(a.actor, f"You kept {who} safe.")
        s.perceive(target, f"{a.me} stood guard over you.")
        s.announce(a.here, f"{a.me} stood guard over {who}.", [a.actor, target])
        return a.done(
            die,
            mod,
            dc,
            outcome,
            f"kept {who} safe; {who}'s trust in {a.me} rose to {_trust_text(trust)}",
            who,
        )
    s.perceive(a.actor, f"You watched over {who}.")
    s.perceive(target, f"{a.me} watched over you.")
    return a.done(die, mod, dc, outcome, f"watched over {who}", who)


def _help(a: _Act) -> Resolution:
    s, rules = a.s, a.rules
    who, failed = _reach(a)
    if failed is not None:
        return failed
    target = a.target or ""
    dc = 8 + half_up(3 * _tension(s)) - half_up(2 * s.trust_of(target, a.actor))
    die, mod, outcome = a.roll(dc)
    to_actor, to_target = TRUST_HELP[outcome]
    trust = _warm(s, rules, target, a.actor, to_actor)
    _warm(s, rules, a.actor, target, to_target)
    if outcome == "failure":
        s.perceive(a.actor, f"You tried to help {who} and only got in the way.")
        s.perceive(target, f"{a.me} tried to help you and got in the way.")
        s.announce(a.here, f"{a.me} fumbled an attempt to help {who}.", [a.actor, target])
        return a.done(die, mod, dc, outcome, f"got in {who}'s way", who)
    if outcome == "partial":
        s.add_aid(target, 1)
        s.perceive(a.actor, f"You gave {who} a little help.")
        s.perceive(target, f"{a.me} gave you a little help.")
        s.announce(a.here, f"{a.me} lent {who} a hand.", [a.actor, target])
        return a.done(die, mod, dc, outcome, f"gave {who} a little help", who)
    s.add_aid(target, 2)
    _calm(s, K.HELP)
    note = f"helped {who}; {who}'s trust in {a.me} rose to {_trust_text(trust)}"
    if s.wounds(target):
        s.set_wounds(target, s.wounds(target) - 1)
        s.mark("owe", target, a.actor)
        note += f"; tended {who}'s wound"
    s.perceive(a.actor, f"You helped {who}.")
    s.perceive(target, f"{a.me} helped you; your next attempt will come easier.")
    s.announce(a.here, f"{a.me} helped {who}.", [a.actor, target])
    return a.done(die, mod, dc, outcome, note, who)


def _share(a: _Act) -> Resolution:
    s, rules = a.s, a.rules
    who, failed = _reach(a)
    if failed is not None:
        return failed
    target = a.target or ""
    clue = clue_to_share(s.knowledge, a.actor, target)
    if clue is None:
        s.perceive(a.actor, f"You had nothing to tell {who} that {who} did not already know.")
        return a.no_roll(f"had nothing new to tell {who}", who)
    dc = 6 + half_up(3 * _tension(s)) - half_up(3 * s.trust_of(target, a.actor))
    die, mod, outcome = a.roll(dc)
    to_actor, to_target = TRUST_SHARE[outcome]
    _warm(s, rules, target, a.actor, to_actor)
    _warm(s, rules, a.actor, target, to_target)
    s.announce(a.here, f"{a.me} spoke quietly with {who}.", [a.actor, target])
    if outcome == "failure":
        s.perceive(a.actor, f"You told {who} about {clue}; {who} did not believe you.")
        s.perceive(target, f"{a.me} tried to tell you something; you were not convinced.")
        return a.done(die, mod, dc, outcome, f"{who} did not believe what they heard", who)
    s.learn(target, clue)
    if outcome == "partial":
        s.perceive(a.actor, f"You told {who} about {clue}; {who} seemed doubtful.")
        s.perceive(target, f"{a.me} told you about {clue}, though you are not sure of them.")
        return a.done(die, mod, dc, outcome, f"told {who} about {clue}; {who} was doubtful", who)
    _calm(s, K.SHARE)
    s.perceive(a.actor, f"You told {who} about {clue}.")
    s.perceive(target, f"{a.me} told you about {clue}.")
    return a.done(die, mod, dc, outcome, f"told {who} about {clue}", who)


def _bargain(a: _Act) -> Resolution:
    s, rules = a.s, a.rules
    who, failed = _reach(a)
    if failed is not None:
        return failed
    target = a.target or ""
    dc = (
        10
        + half_up(3 * _tension(s))
        - half_up(3 * s.trust_of(target, a.actor))
        + _resist(rules, target, "resist_bargain")
    )
    die, mod, outcome = a.roll(dc)
    to_actor, to_target = TRUST_BARGAIN[outcome]
    trust = _warm(s, rules, target, a.actor, to_actor)
    _warm(s, rules, a.actor, target, to_target)
    if outcome == "failure":
        s.perceive(a.actor, f"You tried to strike a bargain with {who}; {who} refused.")
        s.perceive(target, f"{a.me} tried to bargain with you; you refused.")
        s.announce(a.here, f"{a.me} haggled with {who}, and got nowhere.", [a.actor, target])
        return a.done(die, mod, dc, outcome, f"{who} refused the bargain", who)
    offer = _spend_offer(s, a.actor, target)
    s.announce(a.here, f"{a.me} struck a bargain with {who}.", [a.actor, target])
    if outcome == "partial":
        s.perceive(a.actor, f"You gave {who} {offer}; {who} gave little back.")
        s.perceive(target, f"{a.me} offered you {offer} in a bargain.")
        return a.done(die, mod, dc, outcome, f"gave {who} {offer} for goodwill", who)
    _calm(s, K.BARGAIN)
    wanted = clue_to_share(s.knowledge, target, a.actor)
    note = f"traded {offer} with {who}; {who}'s trust in {a.me} rose to {_trust_text(trust)}"
    if wanted is not None:
        s.learn(a.actor, wanted)
        note += f"; learned {wanted}"
        s.perceive(a.actor, f"You traded {offer} with {who} and learned {wanted}.")
        s.perceive(target, f"You traded with {a.me}: {offer} for what you knew of {wanted}.")
    else:
        s.perceive(a.actor, f"You traded {offer} with {who}; {who} warmed to you.")
        s.perceive(target, f"{a.me} traded you {offer}.")
    return a.done(die, mod, dc, outcome, note, who)


def _spend_offer(s: Scratch, actor: str, target: str) -> str:
    """What a bargain gives: a unit of the most plentiful resource, a clue, or a promise."""
    stocked = [(-count, name) for name, count in s.resources.items() if count > 0]
    if stocked:
        _, name = min(stocked)
        s.resources[name] -= 1
        return f"a share of the {name}"
    clue = clue_to_share(s.knowledge, actor, target)
    if clue is not None:
        s.learn(target, clue)
        return f"what they knew of {clue}"
    return "a promise"


def _confront(a: _Act) -> Resolution:
    s, rules = a.s, a.rules
    who, failed = _reach(a)
    if failed is not None:
        return failed
    target = a.target or ""
    target_profile = rules.profiles.get(target)
    stubborn = (
        2 if target_profile is not None and target_profile.traits & {"bold", "aggressive"} else 0
    )
    dc = 10 + half_up(3 * _tension(s)) + _resist(rules, target, "resist_confront") + stubborn
    die, mod, outcome = a.roll(dc)
    to_actor, to_target = TRUST_CONFRONT[outcome]
    trust = _warm(s, rules, target, a.actor, to_actor)
    _warm(s, rules, a.actor, target, to_target)
    s.shift_tension(TENSION_CONFRONT[outcome])
    s.mark("grudge", target, a.actor)
    s.announce(a.here, f"{a.me} confronted {who}.", [a.actor, target])
    if outcome == "failure":
        s.mark("grudge", a.actor, target)
        s.add_aid(a.actor, -1)
        s.perceive(a.actor, f"You confronted {who}; {who} stood firm and you were rattled.")
        s.perceive(target, f"{a.me} confronted you; you stood firm.")
        return a.done(die, mod, dc, outcome, f"{who} stood firm; tension rose", who)
    if outcome == "partial":
        s.perceive(a.actor, f"You confronted {who}; harsh words, nothing more.")
        s.perceive(target, f"{a.me} confronted you with harsh words.")
        return a.done(die, mod, dc, outcome, f"harsh words with {who}; tension rose", who)
    wanted = clue_to_share(s.knowledge, target, a.actor)
    if wanted is not None:
        s.learn(a.actor, wanted)
        s.perceive(a.actor, f"You confronted {who} and forced out what they knew: {wanted}.")
        s.perceive(target, f"{a.me} confronted you and forced you to give up {wanted}.")
        note = f"forced {who} to give up {wanted}; {who}'s trust in {a.me} fell to "
        return a.done(die, mod, dc, outcome, note + _trust_text(trust), who)
    s.add_aid(target, -2)
    s.perceive(a.actor, f"You confronted {who} and shook them.")
    s.perceive(target, f"{a.me} confronted you and shook you.")
    return a.done(
        die,
        mod,
        dc,
        outcome,
        f"shook {who}; {who}'s trust in {a.me} fell to {_trust_text(trust)}",
        who,
    )


def _deceive(a: _Act) -> Resolution:
    s, rules = a.s, a.rules
    who, failed = _reach(a)
    if failed is not None:
        return failed
    target = a.target or ""
    target_profile = rules.profiles.get(target)
    wary = 2 if target_profile is not None and "suspicious" in target_profile.traits else 0
    dc = (
        10
        + half_up(2 * _tension(s))
        - half_up(3 * s.trust_of(target, a.actor))
        + _resist(rules, target, "resist_deceive")
        + wary
    )
    die, mod, outcome = a.roll(dc)
    if outcome == "failure":
        trust = _warm(s, rules, target, a.actor, TRUST_CAUGHT)
        for witness in s.present(a.here, [a.actor, target]):
            _warm(s, rules, witness, a.actor, TRUST_CAUGHT_WITNESS)
        s.shift_tension(TENSION_CAUGHT)
        s.mark("grudge", target, a.actor)
        s.perceive(a.actor, f"You tried to deceive {who} and were caught in the lie.")
        s.perceive(target, f"{a.me} tried to deceive you; you caught the lie.")
        s.announce(a.here, f"{a.me} was caught lying to {who}.", [a.actor, target])
        return a.done(
            die,
            mod,
            dc,
            outcome,
            f"was caught lying; {who}'s trust in {a.me} fell to {_trust_text(trust)}",
            who,
        )
    if outcome == "partial":
        s.perceive(a.actor, f"You spun {who} a story; it got you nothing, but no one noticed.")
        s.perceive(target, f"{a.me} told you a long story.")
        return a.done(die, mod, dc, outcome, f"spun {who} a story; gained nothing", who)
    _warm(s, rules, target, a.actor, TRUST_FOOLED)
    s.shift_tension(TENSION_DECEIVE_SUCCESS)
    wanted = clue_to_share(s.knowledge, target, a.actor)
    if wanted is not None:
        s.learn(a.actor, wanted)
        s.perceive(a.actor, f"You fooled {who} into letting slip {wanted}.")
        s.perceive(target, f"You talked with {a.me} and told them about {wanted}.")
        return a.done(die, mod, dc, outcome, f"fooled {who} into revealing {wanted}", who)
    s.add_aid(target, -2)
    s.perceive(a.actor, f"You fooled {who}; {who} is looking the wrong way now.")
    s.perceive(target, f"{a.me} told you something that changes things, or so it seemed.")
    return a.done(die, mod, dc, outcome, f"misled {who}", who)


def _search(a: _Act) -> Resolution:
    s, rules = a.s, a.rules
    findable = rules.index.findable_here(s.hidden, a.here)
    dc = 10 + half_up(3 * _tension(s)) + half_up(4 * _danger(s, a.here))
    die, mod, outcome = a.roll(dc)
    if not findable:
        s.perceive(a.actor, f"You searched {a.place}; someone had been through it first.")
        return a.done(
            die, mod, dc, outcome if outcome != "success" else "partial", "found nothing new"
        )
    if outcome == "failure":
        s.perceive(a.actor, f"You searched {a.place}, found nothing and made too much noise.")
        s.announce(a.here, f"{a.me} searched {a.place} noisily.", [a.actor])
        return a.done(die, mod, dc, outcome, "found nothing; tension rose")
    if outcome == "partial":
        s.add_aid(a.actor, 1)
        s.perceive(a.actor, f"You searched {a.place} and found traces of something.")
        s.announce(a.here, f"{a.me} searched {a.place}.", [a.actor])
        return a.done(die, mod, dc, outcome, "found traces; the next try will be easier")
    clue = findable[a.rng.randrange(len(findable))]
    s.discover(clue)
    s.learn(a.actor, clue)
    s.perceive(a.actor, f"You searched {a.place} and found {clue}.")
    s.announce(a.here, f"{a.me} searched {a.place} and found something.", [a.actor])
    for witness in s.present(a.here, [a.actor]):
        _warm(s, rules, witness, a.actor, TRUST_SECRET_FIND)
    return a.done(die, mod, dc, outcome, f"found {clue}")


def _pursue(a: _Act) -> Resolution:
    s, rules = a.s, a.rules
    name = a.target or ""
    objective = rules.index.objectives.get(name)
    if objective is None:
        return a.no_roll(f"there is no objective called {name}", name)
    before = s.counters.get(name, 0)
    if before >= objective.target:
        s.perceive(a.actor, f"You went to work on {name}, but it was already done.")
        return a.no_roll(f"{name} was already done", name)
    dc = 10 + half_up(4 * _tension(s)) + half_up(3 * _danger(s, a.here))
    die, mod, outcome = a.roll(dc)
    key = f"effort:{name}"
    effort = int(s.flags.get(key, 0.0)) + EFFORT[outcome]
    effort = max(0, min(STEP_EFFORT, effort))
    if outcome == "partial":
        s.shift_tension(TENSION_PURSUE_PARTIAL)
    if effort < STEP_EFFORT or name in rules.advanced:
        _set_effort(s, key, effort)
        toward = f"{name}: next step {effort}/{STEP_EFFORT}"
        if outcome == "failure":
            s.perceive(a.actor, f"You worked on {name} and suffered a setback ({toward}).")
            s.announce(a.here, f"{a.me} worked on {name}, without luck.", [a.actor])
            return a.done(die, mod, dc, outcome, f"a setback on {toward}", name)
        s.perceive(a.actor, f"You worked on {name} ({toward}).")
        s.announce(a.here, f"{a.me} worked on {name}.", [a.actor])
        what = "laid groundwork on" if outcome == "partial" else "made headway on"
        cost = "; tension rose" if outcome == "partial" else ""
        return a.done(die, mod, dc, outcome, f"{what} {toward}{cost}", name)
    rules.advanced.add(name)
    _set_effort(s, key, 0)
    after = before + 1
    s.counters[name] = after
    progress = f"{after}/{objective.target}"
    if after >= objective.target:
        s.perceive(a.actor, f"You completed {name} ({progress}).")
        s.announce(a.here, f"{a.me} completed {name}.", [a.actor])
        return a.done(die, mod, dc, outcome, f"milestone: {name} reached ({progress})", name)
    s.perceive(a.actor, f"You moved {name} a step forward ({progress}).")
    s.announce(a.here, f"{a.me} moved {name} a step forward.", [a.actor])
    return a.done(die, mod, dc, outcome, f"advanced {name} ({progress})", name)


def _set_effort(s: Scratch, key: str, effort: int) -> None:
    if effort:
        s.flags[key] = float(effort)
    else:
        s.flags.pop(key, None)


def _wait(a: _Act) -> Resolution:
    s = a.s
    dc = 10 + half_up(2 * _tension(s))
    die, mod, outcome = a.roll(dc)
    if outcome != "success":
        s.perceive(a.actor, f"You waited in {a.place}.")
        return a.done(die, mod, dc, outcome, "waited")
    s.add_aid(a.actor, 1)
    note = "kept watch; ready for what comes"
    if _danger(s, a.here) < SAFE_DANGER and s.wounds(a.actor):
        s.set_wounds(a.actor, s.wounds(a.actor) - 1)
        note += "; a wound healed"
    s.perceive(a.actor, f"You kept watch in {a.place} and are ready for what comes.")
    return a.done(die, mod, dc, outcome, note)


_HANDLERS = {
    K.MOVE: _move,
    K.SEARCH: _search,
    K.HELP: _help,
    K.SHARE: _share,
    K.CONFRONT: _confront,
    K.DECEIVE: _deceive,
    K.BARGAIN: _bargain,
    K.DEFEND: _defend,
    K.HIDE: _hide,
    K.PURSUE: _pursue,
    K.WAIT: _wait,
}


def resolve_peril(s: Scratch, rules: TurnRules, persona_id: str, rng: random.Random) -> str | None:
    """The end-of-turn danger check; returns a consequence note when something happened.

    A persona not protected this turn, standing where danger >= 0.5 while tension >= 0.5, rolls
    against 4 + danger x tension x 12. On a failure it is hurt (a wound, tension +0.03) and falls
    back to the safest neighbouring location; a partial is a close call (-1 on its next roll).
    """
    here = s.positions[persona_id]
    level = _danger(s, here)
    if persona_id in rules.protected or level < PERIL_DANGER or s.tension < PERIL_TENSION:
        return None
    dc = 4 + half_up(12 * level * s.tension)
    profile = rules.profiles[persona_id]
    modifier = profile.roll_bonus.get("peril", 0) - s.wounds(persona_id)
    result = check(rng, modifier, dc)
    me = rules.name(persona_id)
    place = rules.index.name_of(here)
    if result.outcome == "success":
        return None
    if result.outcome == "partial":
        s.add_aid(persona_id, -1)
        s.perceive(persona_id, f"You had a close call in {place}.")
        s.announce(here, f"{me} had a close call.", [persona_id])
        return "had a close call"
    s.set_wounds(persona_id, s.wounds(persona_id) + 1)
    s.shift_tension(TENSION_HURT)
    wounds = s.wounds(persona_id)
    note = "was hurt" if wounds < MAX_WOUNDS else "was badly hurt"
    refuge = safer_neighbour(rules.index, s.danger, here)
    if refuge is None:
        s.perceive(persona_id, f"You were hurt in {place}.")
        s.announce(here, f"{me} was hurt.", [persona_id])
        return note
    refuge_name = rules.index.name_of(refuge)
    s.announce(here, f"{me} was hurt and fell back to {refuge_name}.", [persona_id])
    s.positions[persona_id] = refuge
    s.announce(refuge, f"{me} stumbled in from {place}, hurt.", [persona_id])
    s.perceive(persona_id, f"You were hurt in {place} and fell back to {refuge_name}.")
    return f"{note} and fell back to {refuge_name}"


def settle_tension(s: Scratch, baseline: float) -> None:
    """End-of-turn drift: +0.01 as time presses, +0.01 per persona where danger >= 0.5, then
    5% of the way back toward the brief's starting tension ``baseline``."""
    exposed = sum(1 for loc in s.positions.values() if s.danger.get(loc, 0.0) >= PERIL_DANGER)
    s.shift_tension(
        TENSION_CLOCK + TENSION_PRESSURE * exposed - TENSION_SETTLE * (s.tension - baseline)
    )
