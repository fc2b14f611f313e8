"""Available actions, dice, and what each action does to the world."""

from __future__ import annotations

import hashlib

import pytest
from engine_fixtures import CAST, LIGHTHOUSE, NAMES, FixedDie

from dramatis.domain.actions import ActionKind
from dramatis.domain.sheet import CharacterSheet
from dramatis.domain.world import Location, WorldBrief, WorldState
from dramatis.engine.dice import derive_seed, half_up, outcome_of, rng_for
from dramatis.engine.resolve import resolve_action, resolve_peril
from dramatis.engine.rules import TurnRules, available_actions, is_available
from dramatis.engine.state import Scratch
from dramatis.engine.traits import profile_of
from dramatis.engine.world import index_of, initial_world

K = ActionKind


def lighthouse(**update: object) -> WorldState:
    """The lighthouse at turn 0, with fields replaced."""
    return initial_world(LIGHTHOUSE, list(CAST), seed=7).model_copy(update=update)


def table(world: WorldState, brief: WorldBrief = LIGHTHOUSE) -> tuple[Scratch, TurnRules]:
    """A working copy of ``world`` and the rules to resolve actions in it."""
    profiles = {
        pid: profile_of(CAST.get(pid) or CharacterSheet(name=pid)) for pid in world.positions
    }
    rules = TurnRules(
        brief=brief,
        index=index_of(brief),
        profiles=profiles,
        names=NAMES,
        seed=1,
        turn=world.turn + 1,
    )
    scratch = Scratch.from_world(world)
    scratch.turn = world.turn + 1
    return scratch, rules


def options(
    world: WorldState, pid: str, brief: WorldBrief = LIGHTHOUSE
) -> set[tuple[K, str | None]]:
    return {(o.action, o.target) for o in available_actions(world, brief, pid, NAMES)}


# ---------------------------------------------------------------------- dice


def test_derived_seeds_use_sha256_not_the_salted_hash() -> None:
    expected = int.from_bytes(hashlib.sha256(b"7\x1f12\x1fmirela\x1fpolicy").digest()[:8], "big")
    assert derive_seed(7, 12, "mirela", "policy") == expected
    first = [rng_for(7, 12, "mirela", "policy").random() for _ in range(2)]
    assert first[0] == first[1]
    assert rng_for(7, 12, "mirela", "policy").random() != rng_for(7, 12, "osk", "policy").random()


@pytest.mark.parametrize(
    ("die", "modifier", "difficulty", "expected"),
    [
        (10, 2, 12, "success"),
        (10, 2, 13, "partial"),
        (10, 2, 16, "partial"),
        (10, 2, 17, "failure"),
        (20, -5, 30, "success"),
        (1, 10, 5, "failure"),
    ],
)
def test_outcomes(die: int, modifier: int, difficulty: int, expected: str) -> None:
    assert outcome_of(die, modifier, difficulty) == expected


def test_half_up_rounds_halves_up() -> None:
    assert [half_up(x) for x in (0.5, 1.5, 2.5, -0.5, -1.5, 2.49)] == [1, 2, 3, 0, -1, 2]


# ---------------------------------------------------------------------- availability


def test_moves_follow_exits() -> None:
    world = lighthouse()
    moves = {t for a, t in options(world, "mirela") if a is K.MOVE}
    assert moves == {"lamp", "cistern", "shore"}
    world = lighthouse(positions={**world.positions, "mirela": "lamp"})
    assert {t for a, t in options(world, "mirela") if a is K.MOVE} == {"landing"}


def test_a_location_without_exits_reaches_every_other() -> None:
    brief = WorldBrief(
        locations=(
            Location(id="a", name="A"),
            Location(id="b", name="B"),
            Location(id="c", name="C"),
        )
    )
    world = initial_world(brief, ["x", "y"], seed=1).model_copy(
        update={"positions": {"x": "a", "y": "b"}}
    )
    assert {t for a, t in options(world, "x", brief) if a is K.MOVE} == {"b", "c"}


def test_search_only_where_hidden_clues_can_be_found() -> None:
    world = lighthouse(positions={**lighthouse().positions, "hester": "lamp"})
    assert (K.SEARCH, None) in options(world, "hester")
    only_placed = lighthouse(
        positions=world.positions, hidden_clues=("the tin box", "the wet rope")
    )
    assert (K.SEARCH, None) not in options(only_placed, "hester")
    at_cistern = only_placed.model_copy(
        update={"positions": {**world.positions, "hester": "cistern"}}
    )
    assert (K.SEARCH, None) in options(at_cistern, "hester")
    unplaced = lighthouse(hidden_clues=("a muddy bootprint",))
    assert (K.SEARCH, None) in options(unplaced, "hester")


def test_social_actions_only_toward_personas_in_the_same_place() -> None:
    world = lighthouse(positions={**lighthouse().positions, "tobiah": "lamp"})
    opts = options(world, "mirela")
    for kind in (K.HELP, K.CONFRONT, K.DECEIVE, K.BARGAIN):
        assert {t for a, t in opts if a is kind} == {"hester", "osk"}
    assert {t for a, t in opts if a is K.DEFEND} == {None, "hester", "osk"}
    assert not is_available(world, LIGHTHOUSE, "mirela", K.CONFRONT, "tobiah")
    assert not is_available(world, LIGHTHOUSE, "mirela", K.HELP, "mirela")


def test_share_only_when_the_actor_knows_something_the_target_does_not() -> None:
    world = lighthouse()
    assert not any(a is K.SHARE for a, _ in options(world, "hester"))
    knowing = lighthouse(
        knowledge={**world.knowledge, "hester": ("the tin box",), "osk": ("the tin box",)}
    )
    assert {t for a, t in options(knowing, "hester") if a is K.SHARE} == {"mirela", "tobiah"}
    labels = [o.label for o in available_actions(knowing, LIGHTHOUSE, "hester", NAMES)]
    assert "tell Mirela Voss about the tin box" in labels


def test_objectives_are_pursued_where_they_are_and_until_done() -> None:
    world = lighthouse()
    pursue = {t for a, t in options(world, "osk") if a is K.PURSUE}
    assert pursue == {"signal the mainland"}
    at_lamp = lighthouse(positions={**world.positions, "osk": "lamp"})
    assert {t for a, t in options(at_lamp, "osk") if a is K.PURSUE} == {
        "relight the lamp",
        "signal the mainland",
    }
    done = lighthouse(
        positions=at_lamp.positions, counters={"relight the lamp": 5, "signal the mainland": 1}
    )
    assert {t for a, t in options(done, "osk") if a is K.PURSUE} == {"signal the mainland"}


def test_hiding_can_slip_away_only_to_a_safer_neighbour() -> None:
    world = lighthouse(positions={**lighthouse().positions, "osk": "cistern"})
    assert {t for a, t in options(world, "osk") if a is K.HIDE} == {None, "landing"}
    assert {t for a, t in options(lighthouse(), "osk") if a is K.HIDE} == {None}


def test_every_option_is_available_and_labelled() -> None:
    world = lighthouse(knowledge={**lighthouse().knowledge, "hester": ("the tin box",)})
    for pid in CAST:
        opts = available_actions(world, LIGHTHOUSE, pid, NAMES)
        assert opts[-1].action is K.WAIT
        for option in opts:
            assert option.label and option.label[0].islower()
            assert is_available(world, LIGHTHOUSE, pid, option.action, option.target)
    assert not is_available(world, LIGHTHOUSE, "hester", K.MOVE, "landing")
    assert not is_available(world, LIGHTHOUSE, "hester", K.PURSUE, "relight the lamp")
    with pytest.raises(ValueError, match="not in this world"):
        available_actions(world, LIGHTHOUSE, "nobody", NAMES)


# ---------------------------------------------------------------------- resolution


def test_a_caught_deceiver_loses_trust_and_raises_tension() -> None:
    world = lighthouse()
    s, rules = table(world)
    before = {w: s.trust_of(w, "tobiah") for w in ("hester", "mirela", "osk")}
    result = resolve_action(s, rules, "tobiah", K.DECEIVE, "hester", FixedDie(1))
    assert result.outcome == "failure"
    assert "caught lying" in result.consequence
    assert s.trust_of("hester", "tobiah") == pytest.approx(before["hester"] - 0.35)
    for witness in ("mirela", "osk"):
        assert s.trust_of(witness, "tobiah") == pytest.approx(before[witness] - 0.10)
    assert s.tension == pytest.approx(world.tension + 0.06)
    assert s.flags["grudge:hester:tobiah"] == 1.0
    assert any("caught the lie" in line for line in s.perceptions["hester"])
    assert any("caught lying" in line for line in s.perceptions["osk"])


def test_a_failed_search_raises_tension() -> None:
    world = lighthouse()
    s, rules = table(world)
    result = resolve_action(s, rules, "hester", K.SEARCH, None, FixedDie(2))
    assert result.outcome == "failure"
    assert s.tension == pytest.approx(world.tension + 0.03)
    assert s.hidden == list(world.hidden_clues)


def test_a_successful_search_uncovers_a_clue_only_the_searcher_learns() -> None:
    world = lighthouse()
    s, rules = table(world)
    osk_trust = s.trust_of("osk", "hester")
    result = resolve_action(s, rules, "hester", K.SEARCH, None, FixedDie(20))
    assert result.outcome == "success"
    assert result.consequence == "found a muddy bootprint"
    assert s.discovered == ["a muddy bootprint"]
    assert "a muddy bootprint" not in s.hidden
    assert s.knowledge["hester"] == ["a muddy bootprint"]
    assert s.knowledge["osk"] == []
    assert any("found something" in line for line in s.perceptions["osk"])
    assert not any("bootprint" in line for line in s.perceptions["osk"])
    assert s.trust_of("osk", "hester") < osk_trust


def test_help_raises_trust_aids_the_next_roll_and_tends_a_wound() -> None:
    world = lighthouse(flags={"hurt:osk": 2.0})
    s, rules = table(world)
    before = s.trust_of("osk", "mirela")
    result = resolve_action(s, rules, "mirela", K.HELP, "osk", FixedDie(20))
    assert result.outcome == "success"
    assert s.trust_of("osk", "mirela") > before
    assert s.flags["aid:osk"] == 2.0
    assert s.wounds("osk") == 1
    assert s.tension < world.tension


def test_aid_is_spent_on_the_next_roll() -> None:
    world = lighthouse(flags={"aid:hester": 2.0, "hurt:hester": 1.0})
    s, rules = table(world)
    result = resolve_action(s, rules, "hester", K.PURSUE, "signal the mainland", FixedDie(10))
    bonus = profile_of(CAST["hester"]).roll_bonus["pursue"]
    assert result.modifier == bonus + 2 - 1
    assert "aid:hester" not in s.flags


def test_share_teaches_the_target_a_clue() -> None:
    world = lighthouse(knowledge={**lighthouse().knowledge, "hester": ("the tin box",)})
    s, rules = table(world)
    result = resolve_action(s, rules, "hester", K.SHARE, "osk", FixedDie(20))
    assert result.consequence == "told Osk Brenner about the tin box"
    assert s.knowledge["osk"] == ["the tin box"]
    assert s.knowledge["mirela"] == []
    assert any("spoke quietly" in line for line in s.perceptions["mirela"])
    assert not any("tin box" in line for line in s.perceptions["mirela"])


def test_a_successful_confrontation_forces_out_a_clue() -> None:
    world = lighthouse(knowledge={**lighthouse().knowledge, "tobiah": ("the captain's seal",)})
    s, rules = table(world)
    result = resolve_action(s, rules, "hester", K.CONFRONT, "tobiah", FixedDie(20))
    assert result.outcome == "success"
    assert s.knowledge["hester"] == ["the captain's seal"]
    assert s.tension == pytest.approx(world.tension + 0.06)
    assert s.flags["grudge:tobiah:hester"] == 1.0


def test_moving_changes_position_unless_turned_back() -> None:
    world = lighthouse()
    s, rules = table(world)
    assert resolve_action(s, rules, "osk", K.MOVE, "shore", FixedDie(20)).outcome == "success"
    assert s.positions["osk"] == "shore"
    assert any("left for the Wreck Shore" in line for line in s.perceptions["mirela"])
    s, rules = table(world)
    assert resolve_action(s, rules, "osk", K.MOVE, "shore", FixedDie(1)).outcome == "failure"
    assert s.positions["osk"] == "landing"


def test_a_target_who_left_cannot_be_reached() -> None:
    world = lighthouse()
    s, rules = table(world)
    s.positions["osk"] = "lamp"
    result = resolve_action(s, rules, "mirela", K.HELP, "osk", FixedDie(20))
    assert result.outcome == "failure"
    assert result.difficulty == 0
    assert result.consequence == "Osk Brenner was no longer there"


def test_pursuing_builds_effort_and_a_step_takes_four() -> None:
    world = lighthouse()
    s, rules = table(world)
    first = resolve_action(s, rules, "osk", K.PURSUE, "signal the mainland", FixedDie(20))
    assert first.consequence == "made headway on signal the mainland: next step 2/4"
    assert s.flags["effort:signal the mainland"] == 2.0
    groundwork = resolve_action(s, rules, "hester", K.PURSUE, "signal the mainland", FixedDie(9))
    assert groundwork.outcome == "partial"
    assert s.flags["effort:signal the mainland"] == 3.0
    step = resolve_action(s, rules, "mirela", K.PURSUE, "signal the mainland", FixedDie(20))
    assert step.consequence == "advanced signal the mainland (1/4)"
    assert s.counters["signal the mainland"] == 1
    assert "effort:signal the mainland" not in s.flags
    s.flags["effort:signal the mainland"] = 3.0
    same_turn = resolve_action(s, rules, "tobiah", K.PURSUE, "signal the mainland", FixedDie(20))
    assert s.counters["signal the mainland"] == 1
    assert same_turn.consequence == "made headway on signal the mainland: next step 4/4"
    setback = resolve_action(s, rules, "osk", K.PURSUE, "signal the mainland", FixedDie(1))
    assert setback.outcome == "failure"
    assert s.flags["effort:signal the mainland"] == 3.0


def test_the_last_step_is_a_milestone_and_then_the_objective_is_closed() -> None:
    world = lighthouse(
        counters={"relight the lamp": 0, "signal the mainland": 3},
        flags={"effort:signal the mainland": 2.0},
    )
    s, rules = table(world)
    result = resolve_action(s, rules, "osk", K.PURSUE, "signal the mainland", FixedDie(20))
    assert s.counters["signal the mainland"] == 4
    assert result.consequence == "milestone: signal the mainland reached (4/4)"
    again = resolve_action(s, rules, "mirela", K.PURSUE, "signal the mainland", FixedDie(20))
    assert again.outcome == "failure"
    assert again.consequence == "signal the mainland was already done"
    assert s.counters["signal the mainland"] == 4


def test_high_danger_under_high_tension_hurts_the_unprotected() -> None:
    world = lighthouse(
        tension=0.9,
        danger={**lighthouse().danger, "shore": 0.9},
        positions={**lighthouse().positions, "osk": "shore", "tobiah": "shore"},
    )
    s, rules = table(world)
    note = resolve_peril(s, rules, "osk", FixedDie(1))
    assert note == "was hurt and fell back to the Landing"
    assert s.wounds("osk") == 1
    assert s.positions["osk"] == "landing"
    assert s.tension == pytest.approx(0.93)
    assert any("stumbled in" in line for line in s.perceptions["mirela"])
    hidden = resolve_action(s, rules, "tobiah", K.HIDE, None, FixedDie(20))
    assert hidden.outcome == "success"
    assert resolve_peril(s, rules, "tobiah", FixedDie(1)) is None
    assert s.wounds("tobiah") == 0
    calm = lighthouse(positions={**lighthouse().positions, "osk": "shore"})
    s, rules = table(calm)
    assert resolve_peril(s, rules, "osk", FixedDie(1)) is None


def test_a_concealed_persona_cannot_be_confronted() -> None:
    world = lighthouse()
    s, rules = table(world)
    assert resolve_action(s, rules, "osk", K.HIDE, None, FixedDie(20)).outcome == "success"
    result = resolve_action(s, rules, "tobiah", K.CONFRONT, "osk", FixedDie(20))
    assert result.outcome == "failure"
    assert result.consequence == "could not find Osk Brenner"
