"""The offline policy: deterministic, in character, and explained in the persona's own voice."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from engine_fixtures import CAST, LIGHTHOUSE, NAMES, run_campaign

from dramatis.domain.actions import ActionKind
from dramatis.domain.sheet import CharacterSheet
from dramatis.domain.world import Location, Objective, WorldBrief, WorldState
from dramatis.engine.director import build_context
from dramatis.engine.policy import decide_offline, score_options
from dramatis.engine.world import initial_world

K = ActionKind

PIT = WorldBrief(
    locations=(
        Location(id="pit", name="the Pit", exits=("ledge",), danger=0.85),
        Location(id="ledge", name="the Ledge", exits=("pit",), danger=0.6),
    ),
    start_location="pit",
    tension=0.85,
)
HALL = WorldBrief(
    locations=(
        Location(id="hall", name="the Hall", exits=("yard",), danger=0.3),
        Location(id="yard", name="the Yard", exits=("hall",), danger=0.1),
    ),
    start_location="hall",
    tension=0.5,
    clues=("a key",),
    objectives=(Objective(name="the ledger"),),
)


def decisions_over_turns(
    brief: WorldBrief,
    world: WorldState,
    cast: dict[str, CharacterSheet],
    pid: str,
    turns: int = 200,
    seed: int = 3,
) -> Counter[tuple[K, str | None]]:
    """What ``pid`` chooses in the same situation on each of ``turns`` turns."""
    names = {p: s.name for p, s in cast.items()}
    chosen: Counter[tuple[K, str | None]] = Counter()
    for turn in range(1, turns + 1):
        decision = decide_offline(
            build_context(world, brief, pid, cast[pid], names, seed, turn=turn)
        )
        chosen[(decision.action, decision.target)] += 1
    return chosen


def test_the_same_context_gives_the_same_decision() -> None:
    world = initial_world(LIGHTHOUSE, list(CAST), seed=7)
    context = build_context(world, LIGHTHOUSE, "tobiah", CAST["tobiah"], NAMES, 7)
    first = decide_offline(context)
    random.seed(12345)
    assert decide_offline(context) == first
    assert first.provenance.source == "offline"
    assert (first.action, first.target) in {(o.action, o.target) for o in context.options}


def test_decisions_vary_with_the_turn_and_seed() -> None:
    world = initial_world(LIGHTHOUSE, list(CAST), seed=7)
    seen = {
        decide_offline(
            build_context(world, LIGHTHOUSE, "hester", CAST["hester"], NAMES, seed, turn=turn)
        ).reasoning
        for seed in range(3)
        for turn in range(1, 6)
    }
    assert len(seen) > 5


def test_cautious_self_preserving_personas_take_cover_far_more_than_reckless_ones() -> None:
    cautious = CharacterSheet(
        name="Ada Wren",
        personality=("cautious", "careful"),
        decision_weights={"self_preservation": 0.9, "mission": 0.3},
        fears=("dying in the dark",),
    )
    reckless = CharacterSheet(
        name="Bo Hart",
        personality=("reckless", "bold"),
        decision_weights={"self_preservation": 0.1, "mission": 0.7},
    )
    cast = {"ada": cautious, "bo": reckless, "cy": CharacterSheet(name="Cy Lane")}
    world = initial_world(PIT, list(cast), seed=3)

    def cover(chosen: Counter[tuple[K, str | None]]) -> int:
        return (
            sum(n for (kind, target), n in chosen.items() if kind is K.HIDE)
            + chosen[(K.DEFEND, None)]
        )

    careful = cover(decisions_over_turns(PIT, world, cast, "ada"))
    bold = cover(decisions_over_turns(PIT, world, cast, "bo"))
    assert careful >= 150
    assert bold <= 20
    assert careful >= bold + 130


def test_loyal_personas_help_their_allies_more() -> None:
    loyal = CharacterSheet(
        name="Lia Dunn",
        personality=("loyal", "devoted"),
        decision_weights={"loyalty": 0.95, "self_preservation": 0.4},
    )
    selfish = CharacterSheet(
        name="Sam Cole",
        personality=("ambitious", "greedy"),
        decision_weights={"loyalty": 0.05, "self_preservation": 0.6},
    )
    counts = {}
    for label, me in (("loyal", loyal), ("selfish", selfish)):
        cast = {
            "me": me,
            "al": CharacterSheet(name="Al Fenn"),
            "bo": CharacterSheet(name="Bo Grey"),
        }
        world = initial_world(HALL, list(cast), seed=5)
        trust = {a: {b: 0.5 for b in cast if b != a} for a in cast}
        world = world.model_copy(update={"trust": trust})
        chosen = decisions_over_turns(HALL, world, cast, "me", seed=5)
        counts[label] = sum(
            n for (kind, target), n in chosen.items() if kind in (K.HELP, K.DEFEND) and target
        )
    assert counts["loyal"] >= 150
    assert counts["selfish"] <= 30


def test_a_persona_deceived_last_turn_turns_on_the_deceiver() -> None:
    cast = {pid: CAST[pid] for pid in ("hester", "tobiah", "mirela")}
    world = initial_world(LIGHTHOUSE, list(cast), seed=11).model_copy(
        update={"hidden_clues": (), "counters": {"relight the lamp": 5, "signal the mainland": 4}}
    )
    names = {p: s.name for p, s in cast.items()}
    calm = Counter()
    wronged = Counter()
    caught = world.model_copy(
        update={
            "trust": {**world.trust, "hester": {**world.trust["hester"], "tobiah": -0.45}},
            "flags": {"grudge:hester:tobiah": 1.0},
        }
    )
    for turn in range(1, 101):
        for state, tally in ((world, calm), (caught, wronged)):
            context = build_context(
                state, LIGHTHOUSE, "hester", cast["hester"], names, 11, turn=turn
            )
            decision = decide_offline(context)
            tally[(decision.action, decision.target)] += 1
    assert wronged[(K.CONFRONT, "tobiah")] >= calm[(K.CONFRONT, "tobiah")] + 30
    assert wronged[(K.HELP, "tobiah")] <= calm[(K.HELP, "tobiah")]


def test_the_reason_names_what_drove_the_choice() -> None:
    cautious = CharacterSheet(
        name="Ada Wren",
        personality=("cautious",),
        decision_weights={"self_preservation": 0.95},
        fears=("the dark water",),
    )
    cast = {"ada": cautious, "bo": CharacterSheet(name="Bo Hart")}
    world = initial_world(PIT, list(cast), seed=2)
    context = build_context(world, PIT, "ada", cautious, {"ada": "Ada Wren", "bo": "Bo Hart"}, 2)
    best = max(score_options(context), key=lambda s: s.score)
    assert best.option.action is K.HIDE
    assert best.factor in {"peril", "flee", "fear", "trait:cautious"}


def test_reasons_are_single_varied_sentences_in_the_personas_voice() -> None:
    _, turns = run_campaign(seed=21, turns=50)
    by_persona: dict[str, list[str]] = {pid: [] for pid in CAST}
    for result in turns:
        for entry in result.ledger.action_log:
            by_persona[entry.persona_id].append(entry.reasoning)
    for pid, reasons in by_persona.items():
        assert len(set(reasons)) >= 40, pid
        for reason in reasons:
            assert reason[0].isupper() and reason.endswith(".")
            assert ". " not in reason.rstrip(".")
            assert len(reason) <= 400
    assert any(r.startswith("Aye, ") for r in by_persona["mirela"])
    assert any("I shall" in r for r in by_persona["hester"])
    assert not any("I shall" in r for r in by_persona["tobiah"])
    assert len({r for rs in by_persona.values() for r in rs}) >= 180


@pytest.mark.parametrize("pid", sorted(CAST))
def test_every_option_gets_a_score_and_a_factor(pid: str) -> None:
    world = initial_world(LIGHTHOUSE, list(CAST), seed=4)
    context = build_context(world, LIGHTHOUSE, pid, CAST[pid], NAMES, 4)
    scored = score_options(context)
    assert [s.option for s in scored] == list(context.options)
    for item in scored:
        assert 0.0 <= item.noise <= 0.3
        assert item.factor


# ---------------------------------------------------------------------- travel

ROAD = WorldBrief(
    locations=(
        Location(id="camp", name="the Camp", exits=("ford", "pass")),
        Location(id="ford", name="the Ford", exits=("camp", "gate"), danger=0.1),
        Location(id="pass", name="the Pass", exits=("camp", "gate"), danger=0.8),
        Location(id="gate", name="the Gate", exits=("ford", "pass"), danger=0.1),
    ),
    start_location="camp",
    tension=0.6,
    objectives=(Objective(name="deliver the salt", target=4, location="gate"),),
)
DRIVER = CharacterSheet(
    name="Ana Varga",
    personality=("cautious", "meticulous"),
    decision_weights={"self_preservation": 0.8, "mission": 0.9},
    goals=("deliver the salt to the gate",),
)
RIDER = CharacterSheet(
    name="Iso Marren",
    personality=("reckless", "brave"),
    decision_weights={"self_preservation": 0.1, "mission": 0.9},
    goals=("deliver the salt to the gate",),
)


def _alone(brief: WorldBrief, sheet: CharacterSheet, at: str | None = None) -> WorldState:
    world = initial_world(brief, ["me"], seed=1, names={"me": sheet.name})
    return world if at is None else world.model_copy(update={"positions": {"me": at}})


def test_a_persona_heads_for_an_objective_that_lies_several_moves_away() -> None:
    world = _alone(ROAD, DRIVER)
    chosen = decisions_over_turns(ROAD, world, {"me": DRIVER}, "me", turns=100)
    first_steps = sum(n for (kind, _), n in chosen.items() if kind is K.MOVE)
    assert first_steps >= 80, chosen
    # ...and once there, it works on it rather than wandering off.
    there = _alone(ROAD, DRIVER, at="gate")
    work = decisions_over_turns(ROAD, there, {"me": DRIVER}, "me", turns=100)
    assert work[(K.PURSUE, "deliver the salt")] >= 80, work


def test_a_cautious_persona_takes_the_safe_road_and_a_reckless_one_does_not_mind() -> None:
    careful = decisions_over_turns(ROAD, _alone(ROAD, DRIVER), {"me": DRIVER}, "me")
    assert careful[(K.MOVE, "ford")] >= 10 * max(1, careful[(K.MOVE, "pass")]), careful
    bold = decisions_over_turns(ROAD, _alone(ROAD, RIDER), {"me": RIDER}, "me")
    assert bold[(K.MOVE, "pass")] >= 40, bold


def test_clues_elsewhere_draw_a_searcher_across_the_map() -> None:
    brief = ROAD.model_copy(
        update={
            "objectives": (),
            "clues": ("a tally-stick",),
            "locations": tuple(
                loc.model_copy(update={"clues": ("a tally-stick",)}) if loc.id == "gate" else loc
                for loc in ROAD.locations
            ),
        }
    )
    curious = CharacterSheet(
        name="Hester Lind",
        personality=("curious",),
        decision_weights={"self_preservation": 0.5, "mission": 0.8},
    )
    chosen = decisions_over_turns(brief, _alone(brief, curious), {"me": curious}, "me")
    assert chosen[(K.MOVE, "ford")] >= 150, chosen


def test_work_that_only_this_place_allows_outweighs_the_pull_of_elsewhere() -> None:
    brief = ROAD.model_copy(
        update={
            "objectives": (
                Objective(name="deliver the salt", target=4, location="gate"),
                Objective(name="water the mules", target=4, location="camp"),
            )
        }
    )
    mule_minder = DRIVER.model_copy(update={"goals": ("water the mules at the camp",)})
    chosen = decisions_over_turns(brief, _alone(brief, mule_minder), {"me": mule_minder}, "me")
    assert chosen[(K.PURSUE, "water the mules")] >= 150, chosen


def test_a_traveller_does_not_turn_straight_back_without_a_reason() -> None:
    brief = ROAD.model_copy(update={"objectives": ()})
    friend = CharacterSheet(name="Bram Tolliver")
    cast = {"me": DRIVER.model_copy(update={"decision_weights": {"loyalty": 0.9}}), "bram": friend}
    names = {pid: sheet.name for pid, sheet in cast.items()}
    world = initial_world(brief, list(cast), seed=1, names=names).model_copy(
        update={
            "positions": {"me": "ford", "bram": "camp"},
            "trust": {"me": {"bram": 0.6}, "bram": {"me": 0.6}},
        }
    )
    rejoin = decisions_over_turns(brief, world, cast, "me")[(K.MOVE, "camp")]
    left_camp = [loc.id for loc in brief.locations].index("camp")
    just_left = world.model_copy(update={"flags": {"left:me": float(left_camp)}})
    turn_back = decisions_over_turns(brief, just_left, cast, "me")[(K.MOVE, "camp")]
    assert rejoin >= 100
    assert turn_back <= rejoin // 4
