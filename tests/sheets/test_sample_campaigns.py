"""Every shipped sample campaign loads cleanly and is a complete, playable brief."""

from __future__ import annotations

import tomllib
from collections import deque
from pathlib import Path

import pytest

from dramatis.domain.ledger import TurnLedger
from dramatis.domain.world import WorldState
from dramatis.engine.director import play_offline_turn
from dramatis.engine.world import index_of, initial_world
from dramatis.sheets import LoadedCampaign, find_sample, list_samples, load_campaign_file

SAMPLES = list_samples()
SAMPLE_IDS = [sample.name for sample in SAMPLES]
SHIPPED_SUFFIXES = (".toml", ".md", ".json", ".yaml")  # package-data globs in pyproject.toml


def _load(name: str) -> LoadedCampaign:
    return load_campaign_file(find_sample(name))


def test_at_least_three_samples_ship() -> None:
    assert {"salt-road", "skerry-light", "glass-orchard"} <= set(SAMPLE_IDS)
    assert sorted(SAMPLE_IDS) == SAMPLE_IDS


@pytest.mark.parametrize("name", SAMPLE_IDS)
def test_sample_info_matches_the_campaign(name: str) -> None:
    info = next(sample for sample in SAMPLES if sample.name == name)
    loaded = _load(name)
    assert info.title == loaded.campaign.name
    assert info.description == loaded.campaign.description
    assert info.persona_count == len(loaded.personas)
    assert info.path == find_sample(info.title)
    assert info.path.name == "campaign.toml"


@pytest.mark.parametrize("name", SAMPLE_IDS)
def test_sample_loads_without_warnings(name: str) -> None:
    loaded = _load(name)
    assert loaded.warnings == []
    for persona in loaded.personas:
        sheet = persona.sheet
        assert sheet.weights_inferred is False
        assert sheet.summary and sheet.profile and sheet.speech
        assert len(sheet.personality) >= 3
        assert sheet.goals and sheet.fears
        assert set(sheet.decision_weights) >= {
            "self_preservation",
            "loyalty",
            "relationships",
            "mission",
            "morality",
        }
        assert sheet.stats and all(1 <= value <= 5 for value in sheet.stats.values())


@pytest.mark.parametrize("name", SAMPLE_IDS)
def test_sample_personas_differ_and_cover_the_archetypes(name: str) -> None:
    sheets = _load(name).sheets
    assert 3 <= len(sheets) <= 5
    assert len({sheet.name for sheet in sheets}) == len(sheets)
    assert len({tuple(sorted(sheet.decision_weights.items())) for sheet in sheets}) == len(sheets)
    assert len({sheet.personality for sheet in sheets}) == len(sheets)
    assert any(sheet.weight("self_preservation") >= 0.75 for sheet in sheets), "a cautious one"
    assert any(sheet.weight("self_preservation") <= 0.25 for sheet in sheets), "a reckless one"
    assert any(sheet.weight("loyalty") >= 0.8 for sheet in sheets), "a loyal one"
    assert any(sheet.weight("morality") <= 0.2 for sheet in sheets), "a liar"


@pytest.mark.parametrize("name", SAMPLE_IDS)
def test_sample_uses_at_least_two_sheet_formats(name: str) -> None:
    formats = {sheet.source_format for sheet in _load(name).sheets}
    assert len(formats) >= 2


def test_samples_use_all_three_formats_between_them() -> None:
    formats = {sheet.source_format for name in SAMPLE_IDS for sheet in _load(name).sheets}
    assert formats == {"toml", "markdown", "card_v2"}


@pytest.mark.parametrize("name", SAMPLE_IDS)
def test_sample_brief_is_complete(name: str) -> None:
    campaign = _load(name).campaign
    world = campaign.world
    assert world.opening
    assert 4 <= len(world.locations) <= 6
    assert all(location.exits for location in world.locations)
    assert world.start_location is not None
    assert len(world.clues) >= 5
    assert world.resources
    assert 1 <= len(world.objectives) <= 2
    assert len(world.events) >= 5
    kinds = {event.trigger.kind for event in world.events}
    assert kinds == {"start", "turn", "counter", "tension", "clues"}
    assert any(event.effect.complete for event in world.events)
    assert campaign.chronicler.name != "The Chronicler"
    assert campaign.chronicler.style != "plain"


@pytest.mark.parametrize("name", SAMPLE_IDS)
def test_sample_brief_references_are_valid(name: str) -> None:
    world = _load(name).campaign.world
    places = {location.id for location in world.locations}
    objectives = {objective.name for objective in world.objectives}
    raised = objectives.union(*(event.effect.counters for event in world.events))
    clue_total = len(set(world.clues).union(*(event.effect.add_clues for event in world.events)))
    for event in world.events:
        trigger = event.trigger
        if trigger.kind == "counter":
            assert trigger.counter in raised, event.id
        if trigger.kind == "clues":
            assert trigger.at_least is not None and trigger.at_least <= clue_total, event.id
        if event.location is not None:
            assert event.location in places, event.id
        assert event.witnesses in ("all", "present") or event.witnesses in places, event.id
        assert set(event.effect.danger) <= places, event.id
        for counter in event.effect.counters:
            assert counter in objectives, f"{event.id} changes unknown counter {counter!r}"
    # Every objective can complete something: some counter event listens to it.
    listened = {e.trigger.counter for e in world.events if e.trigger.kind == "counter"}
    assert objectives <= listened


@pytest.mark.parametrize("name", SAMPLE_IDS)
def test_every_location_is_reachable_from_the_start(name: str) -> None:
    world = _load(name).campaign.world
    exits = {location.id: location.exits for location in world.locations}
    seen = {world.start_location}
    queue = deque(seen)
    while queue:
        for nxt in exits[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    assert seen == set(exits)


@pytest.mark.parametrize("name", SAMPLE_IDS)
def test_sample_files_are_shipped_in_the_wheel(name: str) -> None:
    folder = find_sample(name).parent
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert files
    for path in files:
        assert path.suffix in SHIPPED_SUFFIXES, f"{path} would not be packaged"


@pytest.mark.parametrize("name", SAMPLE_IDS)
def test_sample_persona_entries_point_inside_the_sample(name: str) -> None:
    path = find_sample(name)
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    for entry in raw["personas"]:
        sheet = Path(entry["sheet"])
        assert not sheet.is_absolute()
        assert (path.parent / sheet).resolve().is_relative_to(path.parent.resolve())


@pytest.mark.parametrize("name", SAMPLE_IDS)
def test_sample_places_its_clues_objectives_and_dangers(name: str) -> None:
    world = _load(name).campaign.world
    placed = {clue for location in world.locations for clue in location.clues}
    every_clue = set(world.clues).union(*(event.effect.add_clues for event in world.events))
    assert placed == every_clue, "every clue is hidden somewhere in particular"
    assert sum(1 for location in world.locations if location.clues) >= 4
    assert any(
        location.clues for location in world.locations if location.id != world.start_location
    )
    homes = {objective.location for objective in world.objectives} - {None}
    assert homes and world.start_location not in homes, "some work waits away from the start"
    dangers = [location.danger for location in world.locations]
    dangers += [level for event in world.events for level in event.effect.danger.values()]
    assert max(dangers) >= 0.5, "somewhere is dangerous enough for peril"


def _play(name: str, seed: int, turns: int) -> tuple[list[WorldState], list[TurnLedger]]:
    """Play a sample offline for up to ``turns`` turns, as the services do (names for keys)."""
    loaded = _load(name)
    sheets = {f"persona-{i}": entry.sheet for i, entry in enumerate(loaded.personas)}
    names = {pid: sheet.name for pid, sheet in sheets.items()}
    brief = loaded.campaign.world
    world = initial_world(brief, list(sheets), seed, names=names)
    worlds, ledgers = [world], []
    while len(ledgers) < turns and not world.complete:
        result = play_offline_turn(world, brief, sheets, names, seed)
        world = result.world
        worlds.append(world)
        ledgers.append(result.ledger)
    return worlds, ledgers


@pytest.mark.parametrize("name", SAMPLE_IDS)
def test_sample_story_travels_and_ends_through_its_own_ending(name: str) -> None:
    brief = _load(name).campaign.world
    worlds, ledgers = _play(name, seed=7, turns=30)
    visited = {place for world in worlds for place in world.positions.values()}
    assert len(visited) >= 3, visited
    movers = {
        entry.persona_name
        for ledger in ledgers
        for entry in ledger.action_log
        if entry.action.value == "move" and entry.outcome != "failure"
    }
    assert len(movers) >= 2, movers
    assert worlds[-1].complete, "the story ends within 30 turns"
    assert 20 <= len(ledgers) <= 30
    endings = {event.id for event in brief.events if event.effect.complete}
    assert endings & {event.id for event in ledgers[-1].events}
    # Work tied to a place is only ever done there.
    homes = index_of(brief).objective_home
    for ledger in ledgers:
        for entry in ledger.action_log:
            if entry.action.value == "pursue" and entry.target in homes:
                assert entry.location == homes[entry.target], entry


@pytest.mark.parametrize("name", SAMPLE_IDS)
def test_sample_stories_travel_under_other_seeds_too(name: str) -> None:
    limit = _load(name).campaign.turn_limit
    for seed in (1, 2, 3):
        worlds, ledgers = _play(name, seed=seed, turns=limit)
        visited = {place for world in worlds for place in world.positions.values()}
        assert len(visited) >= 3, (seed, visited)
        assert worlds[-1].complete, seed
        assert 15 <= len(ledgers) <= 35, (seed, len(ledgers))
