"""Time travel through the real services over SQLite: fork, reroll, inspect, replay and verify."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dramatis.adapters.clock import FrozenClock
from dramatis.bootstrap import Dramatis, open_dramatis
from dramatis.config import Settings
from dramatis.domain.campaign import Campaign, TurnAdvanced
from dramatis.domain.campaign_file import BrainKind
from dramatis.domain.events import decode_event
from dramatis.domain.fingerprint import state_hash
from dramatis.domain.persona import Persona
from dramatis.services.codec import decode
from dramatis.services.errors import BadRequest
from dramatis.services.human import HumanBrain, PendingChoice
from dramatis.services.repository import load_aggregate
from dramatis.services.timetravel import TimeTravelService
from dramatis.sheets.campaign_loader import LoadedCampaign

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters"))

from fake_gemini import FakeGemini

KEY = "AIza-timetravel-test-key-0123456789"


def with_brains(loaded: LoadedCampaign, brains: dict[int, BrainKind]) -> LoadedCampaign:
    personas = tuple(
        dataclasses.replace(p, entry=p.entry.model_copy(update={"brain": brains.get(i, p.brain)}))
        for i, p in enumerate(loaded.personas)
    )
    return dataclasses.replace(loaded, personas=personas)


async def played(
    app: Dramatis, loaded: LoadedCampaign, turns: int, *, limit: int | None = None, seed: int = 5
) -> str:
    view = await app.campaigns.create(loaded, seed=seed, turn_limit=limit or turns)
    await app.campaigns.start(view.campaign_id)
    await app.campaigns.advance(view.campaign_id, turns=turns)
    return view.campaign_id


async def stream_events(app: Dramatis, stream_id: str) -> list[Any]:
    return decode(await app.store.read_stream(stream_id))


def fold_to(events: list[Any], turn: int) -> Campaign:
    """The campaign aggregate folded from its own events up to and including ``turn``."""
    campaign = Campaign()
    for event in events:
        if isinstance(event, TurnAdvanced) and event.ledger.turn_number > turn:
            break
        campaign.apply(event)
    return campaign


def tamper(db: Path, where: str, params: tuple[Any, ...], change: Callable[[dict], None]) -> int:
    """Rewrite the payload of the one stored event matching ``where`` (tests only)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            f"SELECT position, payload FROM events WHERE {where}", params
        ).fetchall()
        assert len(rows) == 1, rows
        position, payload = rows[0]
        data = json.loads(payload)
        change(data)
        conn.execute(
            "UPDATE events SET payload = ? WHERE position = ?", (json.dumps(data), position)
        )
    return position


@pytest.fixture
def tt(app: Dramatis) -> TimeTravelService:
    return TimeTravelService(app.campaigns)


# ---------------------------------------------------------------- fork


async def test_fork_at_turn_10_of_30_shares_the_prefix_and_leaves_the_parent_alone(
    app: Dramatis, tt: TimeTravelService, endless_salt_road: LoadedCampaign
) -> None:
    parent_id = await played(app, endless_salt_road, 30)
    parent_before = await stream_events(app, parent_id)
    parent_ledgers = await app.campaigns.ledger(parent_id)
    assert len(parent_ledgers) == 30
    events_before = await app.store.read_all()

    fork = await tt.fork_campaign(parent_id, 10)
    assert fork.turns == 10 and fork.status == "active" and fork.forked_from == parent_id
    assert [p.persona_id for p in fork.personas] == [
        p.persona_id for p in (await app.campaigns.show(parent_id)).personas
    ]
    # The fork's state at turn 10 is the parent's: world, ledger, persona knowledge, decisions.
    at_parent = await tt.turn_state(parent_id, 10)
    at_fork = await tt.turn_state(fork.campaign_id, 10)
    assert at_fork.world == at_parent.world == fold_to(parent_before, 10).world
    assert at_fork.source_campaign_id == parent_id
    assert at_fork.ledger == parent_ledgers[9]
    assert at_fork.personas == at_parent.personas
    assert (await app.campaigns.get(fork.campaign_id)).world == at_parent.world
    assert await app.campaigns.ledger(fork.campaign_id) == parent_ledgers[:10]
    after_fork = await app.campaigns.get(parent_id)

    result = await app.campaigns.advance(fork.campaign_id, turns=20)
    assert [ledger.turn_number for ledger in result.ledgers] == list(range(11, 31))
    assert result.view.status == "complete"

    # The parent is unchanged by the fork's play.
    assert await app.campaigns.get(parent_id) == after_fork
    assert after_fork.children == (fork.campaign_id,)
    assert await app.campaigns.ledger(parent_id) == parent_ledgers
    parent_after = await stream_events(app, parent_id)
    assert parent_after[: len(parent_before)] == parent_before
    assert [e.event_type for e in parent_after[len(parent_before) :]] == ["CampaignForked"]
    fork_ledgers = await app.campaigns.ledger(fork.campaign_id)
    assert fork_ledgers[:10] == parent_ledgers[:10]
    assert fork_ledgers[10:] == list(result.ledgers)

    # Storage grew by the fork's own events only: nothing of turns 1..10 was copied.
    # (The control plane's SLO measurements of the run are not campaign history.)
    new = [
        record
        for record in (await app.store.read_all())[len(events_before) :]
        if record.stream_type in ("campaign", "persona")
    ]
    by_type: dict[str, int] = {}
    for record in new:
        by_type[record.event_type] = by_type.get(record.event_type, 0) + 1
    assert by_type == {
        "CampaignForked": 1,
        "CampaignCreated": 1,
        "CampaignStarted": 1,
        "TurnAdvanced": 20,
        "CampaignCompleted": 1,
        "DecisionRecorded": 20 * len(fork.personas),
    }
    turns = [r.payload["ledger"]["turn_number"] for r in new if r.event_type == "TurnAdvanced"]
    assert turns == list(range(11, 31))
    assert {r.stream_id for r in new if r.stream_type == "campaign"} == {
        parent_id,
        fork.campaign_id,
    }
    decided = [r.payload for r in new if r.event_type == "DecisionRecorded"]
    assert {(d["campaign_id"], d["turn"]) for d in decided} == {
        (fork.campaign_id, t) for t in range(11, 31)
    }
    # Each persona keeps its decisions per campaign: the fork's run after the parent's.
    persona = await load_aggregate(app.store, Persona, fork.personas[0].persona_id)
    assert persona.last_turn_by_campaign == {parent_id: 30, fork.campaign_id: 30}
    assert (await tt.replay(parent_id)).verified
    assert (await tt.replay(fork.campaign_id)).verified


async def test_forks_of_forks_and_the_family_tree(
    app: Dramatis, tt: TimeTravelService, endless_salt_road: LoadedCampaign
) -> None:
    root = await played(app, endless_salt_road, 12, limit=40)
    child = await tt.fork_campaign(root, 4)
    await app.campaigns.advance(child.campaign_id, turns=6)
    grandchild = await tt.fork_campaign(child.campaign_id, 8, name="Second thoughts")
    await app.campaigns.advance(grandchild.campaign_id, turns=3)
    sibling = await tt.fork_campaign(root, 0)

    segments = await tt.timeline(grandchild.campaign_id)
    assert [(s.campaign_id, s.first_turn, s.last_turn) for s in segments] == [
        (root, 0, 4),
        (child.campaign_id, 4, 8),
        (grandchild.campaign_id, 8, 11),
    ]
    ledgers = await app.campaigns.ledger(grandchild.campaign_id)
    assert [ledger.turn_number for ledger in ledgers] == list(range(1, 12))
    assert ledgers[:4] == await app.campaigns.ledger(root, 1, 4)
    assert ledgers[4:8] == await app.campaigns.ledger(child.campaign_id, 5, 8)

    tree = await tt.family(grandchild.campaign_id)
    rows = [(depth, node.campaign_id, node.forked_at_turn) for depth, node in tree.walk()]
    assert rows == [
        (0, root, None),
        (1, child.campaign_id, 4),
        (2, grandchild.campaign_id, 8),
        (1, sibling.campaign_id, 0),
    ]
    assert tree == await tt.family(root)
    assert (await tt.world_at(sibling.campaign_id, 0)) == (await tt.world_at(root, 0))
    report = await tt.replay(grandchild.campaign_id)
    assert report.verified and report.replayed == 11
    assert report.segments == (root, child.campaign_id, grandchild.campaign_id)


async def test_a_fork_outside_the_played_turns_is_refused(
    app: Dramatis, tt: TimeTravelService, endless_salt_road: LoadedCampaign
) -> None:
    root = await played(app, endless_salt_road, 5, limit=20)
    with pytest.raises(BadRequest, match=r"turns 0\.\.5, not at turn 6"):
        await tt.fork_campaign(root, 6)
    child = await tt.fork_campaign(root, 3)
    with pytest.raises(BadRequest, match=r"turns 3\.\.3, not at turn 2"):
        await tt.fork_campaign(child.campaign_id, 2)
    with pytest.raises(BadRequest, match=r"turns 0\.\.5, not 9"):
        await tt.turn_state(root, 9)


# ---------------------------------------------------------------- reroll


async def test_reroll_plays_the_last_turn_again_as_a_fork_with_another_seed(
    app: Dramatis, tt: TimeTravelService, endless_salt_road: LoadedCampaign
) -> None:
    root = await played(app, endless_salt_road, 8, limit=20)
    before = await app.campaigns.ledger(root)
    rerolls = [await tt.reroll(root) for _ in range(3)]
    for result in rerolls:
        assert result.turn == 8
        assert result.original.campaign_id == root and result.original.turns == 8
        assert result.original_turn == before[-1]
        assert result.reroll.forked_from == root and result.reroll.turns == 8
        assert result.reroll_turn.turn_number == 8
        assert result.seed != result.original.seed
        assert await app.campaigns.ledger(result.reroll.campaign_id, 1, 7) == before[:7]
    assert len({r.seed for r in rerolls}) == 3
    outcomes = {
        tuple((e.action, e.roll, e.outcome) for e in r.reroll_turn.action_log) for r in rerolls
    }
    assert len(outcomes) > 1  # different seeds, different dice
    # Both branches stay playable; the original is untouched.
    assert await app.campaigns.ledger(root) == before
    kept = rerolls[0].reroll.campaign_id
    more = await app.campaigns.advance(kept, turns=2)
    assert [ledger.turn_number for ledger in more.ledgers] == [9, 10]
    again = await app.campaigns.advance(root, turns=1)
    assert again.ledgers[0].turn_number == 9
    assert (await tt.replay(kept)).verified
    assert (await tt.replay(root)).verified


async def test_reroll_needs_a_turn_of_its_own(
    app: Dramatis, tt: TimeTravelService, endless_salt_road: LoadedCampaign
) -> None:
    root = await played(app, endless_salt_road, 3, limit=20)
    fork = await tt.fork_campaign(root, 3)
    with pytest.raises(BadRequest, match="no turn of its own"):
        await tt.reroll(fork.campaign_id)


# ---------------------------------------------------------------- inspect


async def test_every_turn_state_is_what_folding_the_events_gives(
    app: Dramatis, tt: TimeTravelService, endless_salt_road: LoadedCampaign
) -> None:
    root = await played(app, endless_salt_road, 9, limit=20)
    events = await stream_events(app, root)
    decisions = {
        p.persona_id: await app.personas.decisions(p.persona_id, root)
        for p in (await app.campaigns.show(root)).personas
    }
    for turn in range(10):
        state = await tt.turn_state(root, turn)
        folded = fold_to(events, turn)
        assert state.turn == turn and state.current_turn == 9
        assert state.world == folded.world
        assert state.ledger == (folded.last_ledger if turn else None)
        assert state.hash_ok is (True if turn else None)
        for persona in state.personas:
            assert persona.knowledge == folded.world.knowledge.get(persona.persona_id, ())
            assert persona.trust == folded.world.trust.get(persona.persona_id, {})
            expected = next((d for d in decisions[persona.persona_id] if d.turn == turn), None)
            assert persona.decision == expected


# ---------------------------------------------------------------- replay and verify


async def test_replay_verifies_an_offline_campaign_and_hashes_every_turn(
    app: Dramatis, tt: TimeTravelService, endless_salt_road: LoadedCampaign
) -> None:
    root = await played(app, endless_salt_road, 25, limit=25)
    events = await stream_events(app, root)
    turns = [e for e in events if isinstance(e, TurnAdvanced)]
    assert len(turns) == 25
    assert all(e.state_hash == state_hash(e.world, e.ledger) for e in turns)
    report = await tt.replay(root)
    assert report.verified and report.divergent_turn is None
    assert report.replayed == report.turns == 25
    assert report.final_hash == turns[-1].state_hash
    assert report.recomputed_decisions == 25 * 3 and report.recorded_decisions == 0


async def test_replay_verifies_a_mixed_campaign_against_the_fake_gemini_server(
    tmp_path: Path, endless_salt_road: LoadedCampaign
) -> None:
    loaded = with_brains(endless_salt_road, {0: "gemini"})
    with FakeGemini(api_key=KEY, model="gemini-test") as fake:
        settings = Settings(
            data_dir=tmp_path / "mixed",
            db=str(tmp_path / "mixed.db"),
            gemini_api_key=KEY,
            gemini_base_url=fake.url,
            gemini_model="gemini-test",
            gemini_max_attempts=1,
        )
        async with open_dramatis(settings, clock=FrozenClock()) as app:
            tt = TimeTravelService(app.campaigns)
            root = await played(app, loaded, 12, limit=12)
            assert fake.count == 12
            gemini_id = (await app.campaigns.show(root)).personas[0].persona_id
            sources = {d.provenance.source for d in await app.personas.decisions(gemini_id, root)}
            assert sources == {"gemini"}
            report = await tt.replay(root)
            assert fake.count == 12  # replay calls no brain: it reads the recorded decisions
    assert report.verified, report.reason
    assert report.recorded_decisions == 12 and report.recomputed_decisions == 24

    # Altering the Gemini persona's stored decision of turn 7 is caught at turn 7.
    def other_action(payload: dict) -> None:
        decision = payload["decision"]
        decision["action"] = "wait" if decision["action"] != "wait" else "hide"
        decision["target"] = None

    tamper(
        tmp_path / "mixed.db",
        "stream_id = ? AND event_type = 'DecisionRecorded' AND json_extract(payload, '$.turn') = 7",
        (gemini_id,),
        other_action,
    )
    offline = Settings(data_dir=tmp_path / "mixed", db=str(tmp_path / "mixed.db"))
    async with open_dramatis(offline, clock=FrozenClock()) as app:
        report = await TimeTravelService(app.campaigns).replay(root)
    assert not report.verified
    assert report.divergent_turn == 7 and report.replayed == 6
    assert "different state" in (report.reason or "")


async def test_replay_verifies_a_human_controlled_campaign(
    tmp_path: Path, settings: Settings, endless_salt_road: LoadedCampaign
) -> None:
    chosen: list[int] = []

    def answer(choice: PendingChoice) -> None:
        index = (choice.context.turn * 3) % len(choice.context.options)
        chosen.append(index)
        human.choose(choice.persona_id, index, f"I pick {index + 1} on turn {choice.context.turn}.")

    human = HumanBrain(timeout_seconds=30, on_pending=answer)
    loaded = with_brains(endless_salt_road, {1: "human"})
    async with open_dramatis(settings, clock=FrozenClock(), extra_brains={"human": human}) as app:
        tt = TimeTravelService(app.campaigns)
        root = await played(app, loaded, 10, limit=10)
        assert len(chosen) == 10
        human_id = (await app.campaigns.show(root)).personas[1].persona_id
        decisions = await app.personas.decisions(human_id, root)
        assert {d.provenance.source for d in decisions} == {"human"}
        report = await tt.replay(root)
        assert report.verified, report.reason
        assert report.recorded_decisions == 10 and report.recomputed_decisions == 20

        # A human's recorded context that no longer matches the replayed world is reported.
        tamper(
            Path(settings.database),
            "stream_id = ? AND event_type = 'DecisionRecorded' "
            "AND json_extract(payload, '$.turn') = 4",
            (human_id,),
            lambda payload: payload.update(context_text=payload["context_text"] + " (edited)"),
        )
        report = await tt.replay(root)
        assert not report.verified and report.divergent_turn == 4
        assert "different context" in (report.reason or "")


async def test_an_altered_turn_event_is_detected_at_its_turn(
    app: Dramatis, settings: Settings, tt: TimeTravelService, endless_salt_road: LoadedCampaign
) -> None:
    root = await played(app, endless_salt_road, 20, limit=20)
    assert (await tt.replay(root)).verified

    def nudge(payload: dict) -> None:
        payload["world"]["tension"] = round(1.0 - payload["world"]["tension"], 3)

    tamper(
        Path(settings.database),
        "stream_id = ? AND event_type = 'TurnAdvanced' "
        "AND json_extract(payload, '$.ledger.turn_number') = 12",
        (root,),
        nudge,
    )
    report = await tt.replay(root)
    assert not report.verified
    assert report.divergent_turn == 12 and report.replayed == 11
    assert report.campaign_of_divergence == root
    assert "does not match the state hash" in (report.reason or "")
    assert (await tt.turn_state(root, 12)).hash_ok is False
    assert (await tt.turn_state(root, 11)).hash_ok is True


async def test_an_altered_offline_decision_is_detected_at_its_turn(
    app: Dramatis, settings: Settings, tt: TimeTravelService, endless_salt_road: LoadedCampaign
) -> None:
    root = await played(app, endless_salt_road, 10, limit=10)
    persona_id = (await app.campaigns.show(root)).personas[2].persona_id

    def other_reason(payload: dict) -> None:
        payload["decision"]["reasoning"] = "Someone else wrote this."

    tamper(
        Path(settings.database),
        "stream_id = ? AND event_type = 'DecisionRecorded' AND json_extract(payload, '$.turn') = 9",
        (persona_id,),
        other_reason,
    )
    report = await tt.replay(root)
    assert not report.verified and report.divergent_turn == 9
    assert "offline policy" in (report.reason or "")


async def test_turns_recorded_before_state_hashes_replay_and_are_reported(
    app: Dramatis, settings: Settings, tt: TimeTravelService, endless_salt_road: LoadedCampaign
) -> None:
    root = await played(app, endless_salt_road, 6, limit=6)
    with sqlite3.connect(settings.database) as conn:
        rows = conn.execute(
            "SELECT position, payload FROM events WHERE stream_id = ? "
            "AND event_type = 'TurnAdvanced' "
            "AND json_extract(payload, '$.ledger.turn_number') <= 3",
            (root,),
        ).fetchall()
        for position, payload in rows:
            data = json.loads(payload)
            del data["state_hash"]
            conn.execute(
                "UPDATE events SET payload = ?, schema_version = 1 WHERE position = ?",
                (json.dumps(data), position),
            )
    old = decode_event("TurnAdvanced", 1, json.loads(rows[0][1]) | {"state_hash": None})
    assert isinstance(old, TurnAdvanced) and old.state_hash is None
    report = await tt.replay(root)
    assert report.verified
    assert report.unrecorded_turns == (1, 2, 3)
    assert (await tt.turn_state(root, 2)).hash_ok is None


async def test_a_v1_turn_payload_is_upcast_without_a_hash() -> None:
    payload = {
        "campaign_id": "c",
        "at": "2025-01-01T00:00:00Z",
        "ledger": {
            "turn_number": 1,
            "timestamp": "2025-01-01T00:00:00Z",
            "action_log": [],
            "duration_seconds": 0.0,
        },
        "world": {"turn": 1},
    }
    event = decode_event("TurnAdvanced", 1, payload)
    assert isinstance(event, TurnAdvanced) and event.state_hash is None
    assert TurnAdvanced.schema_version == 2
