"""Persona ids are random per campaign; the story must not depend on them.

The same sheets, names and seed must give the same campaign (every roll, choice, target,
consequence, the tension and every trust) whatever ids the personas were given, and whatever
order those ids happen to sort in.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from engine_fixtures import CAST, LIGHTHOUSE

from dramatis.domain.campaign_file import ChroniclerSpec
from dramatis.domain.ledger import TurnLedger
from dramatis.domain.sheet import CharacterSheet
from dramatis.domain.world import WorldState
from dramatis.engine.cast import cast_order, in_key_order, persona_keys
from dramatis.engine.chronicler import ChronicleContext, compose_chapter
from dramatis.engine.director import build_context, play_offline_turn
from dramatis.engine.policy import decide_offline
from dramatis.engine.world import initial_world

SEED = 7
TURNS = 40
SHEETS = [CAST[pid] for pid in sorted(CAST)]  # one cast, in one fixed order
NAMES = [sheet.name for sheet in SHEETS]


def _ids(order: str) -> list[str]:
    """UUID ids for the cast: sorting the same way as the names, the reverse way, or random."""
    if order == "random":
        return [str(uuid.uuid4()) for _ in SHEETS]
    ranks = range(len(SHEETS)) if order == "same" else range(len(SHEETS), 0, -1)
    tail = 0xBEEF if order == "same" else 0xF00D
    return [str(uuid.UUID(int=(rank + 1) << 100 | tail)) for rank in ranks]


def _campaign(ids: list[str]) -> tuple[dict[str, str], list[WorldState], list[TurnLedger]]:
    sheets: dict[str, CharacterSheet] = dict(zip(ids, SHEETS, strict=True))
    names = {pid: sheet.name for pid, sheet in sheets.items()}
    world = initial_world(LIGHTHOUSE, ids, SEED, names=names)
    worlds, ledgers = [world], []
    for _ in range(TURNS):
        result = play_offline_turn(world, LIGHTHOUSE, sheets, names, SEED)
        world = result.world
        worlds.append(world)
        ledgers.append(result.ledger)
    return names, worlds, ledgers


def _swap_ids(text: str, names: dict[str, str]) -> str:
    for pid, name in names.items():
        text = text.replace(pid, name)
    return text


def _ledger_view(ledger: TurnLedger, names: dict[str, str]) -> dict[str, Any]:
    return {
        "turn": ledger.turn_number,
        "events": [event.id for event in ledger.events],
        "tension": (ledger.tension_before, ledger.tension_after),
        "actions": [
            (
                entry.persona_name,
                entry.action.value,
                names.get(entry.target, entry.target) if entry.target else None,
                entry.target_name,
                entry.reasoning,
                entry.outcome,
                entry.roll,
                entry.modifier,
                entry.difficulty,
                entry.location,
                entry.consequence,
            )
            for entry in ledger.action_log
        ],
    }


def _world_view(world: WorldState, names: dict[str, str]) -> dict[str, Any]:
    return {
        "tension": world.tension,
        "positions": {names[p]: loc for p, loc in world.positions.items()},
        "trust": {
            names[a]: {names[b]: value for b, value in row.items()}
            for a, row in world.trust.items()
        },
        "knowledge": {names[p]: clues for p, clues in world.knowledge.items()},
        "perceptions": {names[p]: lines for p, lines in world.perceptions.items()},
        "flags": {_swap_ids(key, names): value for key, value in world.flags.items()},
        "counters": world.counters,
        "hidden": world.hidden_clues,
        "discovered": world.discovered_clues,
        "fired": world.fired_events,
    }


def _chronicle(names: dict[str, str], ledgers: list[TurnLedger]) -> str:
    sheets = {
        pid: CAST[next(k for k, s in CAST.items() if s.name == n)] for pid, n in names.items()
    }
    ctx = ChronicleContext(
        campaign_name="The Skerry",
        names=names,
        brief=LIGHTHOUSE,
        sheets=sheets,
        chronicler=ChroniclerSpec(style="gothic", turns_per_chapter=8),
        seed=SEED,
    )
    memory = None
    chapters = []
    for number, start in enumerate(range(0, len(ledgers), 8), start=1):
        draft = compose_chapter(number, ledgers[start : start + 8], ctx, memory)
        memory = draft.memory
        chapters.append(draft.markdown)
    return "\n\n".join(chapters)


@pytest.mark.parametrize("other", ["reverse", "random"])
def test_the_same_seed_and_cast_replay_alike_whatever_the_persona_ids(other: str) -> None:
    first_names, first_worlds, first_ledgers = _campaign(_ids("same"))
    second_names, second_worlds, second_ledgers = _campaign(_ids(other))
    assert set(first_names).isdisjoint(second_names)

    assert [_ledger_view(ledger, first_names) for ledger in first_ledgers] == [
        _ledger_view(ledger, second_names) for ledger in second_ledgers
    ]
    assert [_world_view(world, first_names) for world in first_worlds] == [
        _world_view(world, second_names) for world in second_worlds
    ]
    # The campaign is a real one: people act on each other, move, find things and fall out.
    actions = {entry.action.value for ledger in first_ledgers for entry in ledger.action_log}
    assert {"move", "search", "pursue"} <= actions
    assert any(entry.target in first_names for led in first_ledgers for entry in led.action_log)
    assert len({w.tension for w in first_worlds}) > 5
    # The chronicle names people, never ids, and reads the same.
    text = _chronicle(first_names, first_ledgers)
    assert not any(pid in text for pid in first_names)
    assert text == _chronicle(second_names, second_ledgers)


def test_start_trust_and_spread_follow_names_not_ids() -> None:
    brief = LIGHTHOUSE.model_copy(update={"start_location": None})
    views = []
    for order in ("same", "reverse", "random"):
        ids = _ids(order)
        names = dict(zip(ids, NAMES, strict=True))
        world = initial_world(brief, ids, SEED, names=names)
        views.append(
            (
                {names[p]: loc for p, loc in world.positions.items()},
                {names[a]: {names[b]: v for b, v in row.items()} for a, row in world.trust.items()},
            )
        )
    assert views[0] == views[1] == views[2]


def test_decisions_do_not_depend_on_the_deciders_id() -> None:
    reasons = set()
    for order in ("same", "reverse", "random"):
        ids = _ids(order)
        sheets = dict(zip(ids, SHEETS, strict=True))
        names = {pid: sheet.name for pid, sheet in sheets.items()}
        world = initial_world(LIGHTHOUSE, ids, SEED, names=names)
        decisions = []
        for pid in cast_order(ids, names):
            context = build_context(world, LIGHTHOUSE, pid, sheets[pid], names, SEED)
            decision = decide_offline(context)
            target = names.get(decision.target or "", decision.target)
            labels = [option.label for option in context.options]
            decisions.append((names[pid], decision.action, target, decision.reasoning, labels))
        reasons.add(repr(decisions))
    assert len(reasons) == 1


def test_keys_are_names_made_unique_and_fall_back_to_ids() -> None:
    keys = persona_keys(["b", "a", "c"], {"a": "Ann", "b": "Ann", "c": ""})
    assert keys == {"a": "Ann", "b": "Ann #2", "c": "c"}
    assert persona_keys(["x", "y"], None) == {"x": "x", "y": "y"}
    assert in_key_order(["z", "y"], {"z": "Alma", "y": "Bea"}) == ["z", "y"]
    assert cast_order(["id-2", "id-1"], {"id-1": "Zed", "id-2": "Abe"}) == ["id-2", "id-1"]
