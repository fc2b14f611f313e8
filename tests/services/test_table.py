"""Shared play through the services: two sessions (two wired apps) at one campaign's table on one
SQLite file, as two SSH sessions would be."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from dramatis.adapters.clock import FrozenClock
from dramatis.bootstrap import Dramatis, open_dramatis
from dramatis.config import Settings
from dramatis.domain.persona import DecisionRecorded
from dramatis.domain.table import SeatTakenByOther
from dramatis.services.codec import decode
from dramatis.services.errors import BadRequest, PermissionDenied
from dramatis.sheets.campaign_loader import LoadedCampaign

START = "2026-11-25T12:00:00.000Z"


class Sessions:
    """Several sessions on one database, each with its own player, role and session id."""

    def __init__(self, tmp_path: Path, clock: FrozenClock) -> None:
        self.db = str(tmp_path / "shared.db")
        self.data_dir = tmp_path / "data"
        self.clock = clock
        self.stack = AsyncExitStack()

    async def open(self, player: str, role: str = "player", tenant: str = "default") -> Dramatis:
        settings = Settings(
            data_dir=self.data_dir,
            db=self.db,
            player=player,
            role=role,
            tenant=tenant,
            session=f"{player}-session",
            human_timeout_seconds=30,
        )
        return await self.stack.enter_async_context(open_dramatis(settings, clock=self.clock))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def sessions(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Sessions]:
    opened = Sessions(tmp_path, clock)
    async with opened.stack:
        yield opened


async def started(app: Dramatis, loaded: LoadedCampaign) -> str:
    view = await app.campaigns.create(loaded, seed=3, offline=True)
    await app.campaigns.start(view.campaign_id)
    return view.campaign_id


async def test_players_see_each_other_and_a_persona_has_one_controller(
    sessions: Sessions, salt_road: LoadedCampaign
) -> None:
    ana = await sessions.open("ana")
    bo = await sessions.open("bo")
    campaign_id = await started(ana, salt_road)
    personas = (await ana.campaigns.show(campaign_id)).personas
    await ana.table.join(campaign_id)
    await bo.table.join(campaign_id)

    seen = await ana.table.take(campaign_id, personas[0].persona_id)
    assert [p.player for p in seen.players] == ["ana", "bo"]
    with pytest.raises(SeatTakenByOther, match="controlled by ana"):
        await bo.table.take(campaign_id, personas[0].persona_id)
    await bo.table.take(campaign_id, personas[1].persona_id)

    from_bo = await bo.table.view(campaign_id)
    controllers = {s.name: s.controller for s in from_bo.seats}
    assert controllers[personas[0].name] == "ana"
    assert controllers[personas[1].name] == "bo"
    assert from_bo.my_persona == personas[1].persona_id
    # Taking another persona lets go of the first one.
    await bo.table.take(campaign_id, personas[2].persona_id)
    controllers = {s.name: s.controller for s in (await ana.table.view(campaign_id)).seats}
    assert controllers[personas[1].name] is None
    assert controllers[personas[2].name] == "bo"


async def test_a_called_turn_waits_for_every_controller_then_uses_their_choices(
    sessions: Sessions, salt_road: LoadedCampaign
) -> None:
    ana = await sessions.open("ana")
    bo = await sessions.open("bo")
    campaign_id = await started(ana, salt_road)
    personas = (await ana.campaigns.show(campaign_id)).personas
    await ana.table.take(campaign_id, personas[0].persona_id)
    await bo.table.take(campaign_id, personas[1].persona_id)

    called = await ana.table.call_turn(campaign_id)
    assert called.call is not None and called.call.turn == 1
    assert set(called.call.waiting_for) == {personas[0].name, personas[1].name}

    ana_options = await ana.table.my_options(campaign_id)
    assert ana_options is not None and ana_options.persona_id == personas[0].persona_id
    ana_label = await ana.table.choose(campaign_id, len(ana_options.options) - 1)
    # Bo has not chosen and the deadline is far: nobody plays the turn yet.
    assert await ana.table.resolve_due(campaign_id) is None
    assert await bo.table.resolve_due(campaign_id) is None
    waiting = await bo.table.view(campaign_id)
    assert waiting.call is not None and waiting.call.waiting_for == (personas[1].name,)

    bo_options = await bo.table.my_options(campaign_id)
    assert bo_options is not None
    bo_label = await bo.table.choose(campaign_id, 0)
    with pytest.raises(BadRequest, match="already chose"):
        await bo.table.choose(campaign_id, 0)
    # Bo is not the caller: the caller (ana, still at the table) plays it.
    assert await bo.table.resolve_due(campaign_id) is None
    result = await ana.table.resolve_due(campaign_id)
    assert result is not None
    entries = {e.persona_id: e for e in result.ledgers[0].action_log}
    first, second = entries[personas[0].persona_id], entries[personas[1].persona_id]
    assert first.source == "human" and second.source == "human"
    assert (first.action, first.target) == (
        ana_options.options[-1].action,
        ana_options.options[-1].target,
    )
    assert (second.action, second.target) == (
        bo_options.options[0].action,
        bo_options.options[0].target,
    )
    assert ana_label and bo_label
    assert (await bo.table.view(campaign_id)).call is None  # the call is closed
    assert (await bo.campaigns.show(campaign_id)).turns == 1


async def test_a_controller_who_does_not_choose_in_time_gets_the_fallback_in_the_ledger(
    sessions: Sessions, salt_road: LoadedCampaign, clock: FrozenClock
) -> None:
    ana = await sessions.open("ana")
    bo = await sessions.open("bo")
    campaign_id = await started(ana, salt_road)
    personas = (await ana.campaigns.show(campaign_id)).personas
    await bo.table.take(campaign_id, personas[1].persona_id)
    await ana.table.call_turn(campaign_id)
    assert await ana.table.resolve_due(campaign_id) is None

    clock.instant = "2026-11-25T12:00:31.000Z"  # past the 30 s deadline
    result = await ana.table.resolve_due(campaign_id)
    assert result is not None
    entry = next(e for e in result.ledgers[0].action_log if e.persona_id == personas[1].persona_id)
    assert entry.source == "offline"
    records = await ana.store.read_stream(personas[1].persona_id)
    decision = decode(records)[-1]
    assert isinstance(decision, DecisionRecorded)
    assert decision.decision.provenance.fallback_reason == (
        "bo did not choose within 30 s; the fallback policy acted"
    )


async def test_another_session_plays_the_turn_when_the_caller_is_gone(
    sessions: Sessions, salt_road: LoadedCampaign
) -> None:
    ana = await sessions.open("ana")
    bo = await sessions.open("bo")
    campaign_id = await started(ana, salt_road)
    personas = (await ana.campaigns.show(campaign_id)).personas
    await bo.table.take(campaign_id, personas[1].persona_id)
    await ana.table.call_turn(campaign_id)
    # Ana's connection drops mid-turn: the SSH host removes her session everywhere.
    assert await bo.table.leave_session("ana-session") == 1
    await bo.table.choose(campaign_id, 0)
    result = await bo.table.resolve_due(campaign_id)
    assert result is not None and result.ledgers[0].turn_number == 1
    # Ana's late resolution finds the turn played: nothing twice.
    assert await ana.table.resolve_due(campaign_id) is None
    assert (await ana.campaigns.show(campaign_id)).turns == 1


async def test_leaving_releases_the_seat_and_two_resolvers_play_a_turn_once(
    sessions: Sessions, salt_road: LoadedCampaign, clock: FrozenClock
) -> None:
    ana = await sessions.open("ana")
    bo = await sessions.open("bo")
    campaign_id = await started(ana, salt_road)
    personas = (await ana.campaigns.show(campaign_id)).personas
    await ana.table.take(campaign_id, personas[0].persona_id)
    await ana.table.call_turn(campaign_id)
    await ana.table.leave_session()
    view = await bo.table.view(campaign_id)
    assert all(seat.controller is None for seat in view.seats)
    assert [p.player for p in view.players] == []
    # With the caller gone and nobody to wait for, both may resolve; one turn is played.
    first = await bo.table.resolve_due(campaign_id)
    second = await ana.table.resolve_due(campaign_id)
    assert first is not None and second is None
    assert (await bo.campaigns.show(campaign_id)).turns == 1
    turn_events = [
        r
        for r in await bo.store.read_all(after_position=0)
        if r.event_type == "TurnAdvanced" and r.stream_id == campaign_id
    ]
    assert len(turn_events) == 1


async def test_a_viewer_watches_but_cannot_act(
    sessions: Sessions, salt_road: LoadedCampaign
) -> None:
    ana = await sessions.open("ana")
    eve = await sessions.open("eve", role="viewer")
    campaign_id = await started(ana, salt_road)
    personas = (await ana.campaigns.show(campaign_id)).personas
    joined = await eve.table.join(campaign_id)
    assert [(p.player, p.role) for p in joined.players] == [("eve", "viewer")]
    with pytest.raises(PermissionDenied, match="viewers watch"):
        await eve.table.call_turn(campaign_id)
    with pytest.raises(PermissionDenied, match="viewers watch"):
        await eve.table.take(campaign_id, personas[0].persona_id)
    with pytest.raises(PermissionDenied, match="viewers watch"):
        await eve.campaigns.advance(campaign_id)
    assert (await ana.campaigns.show(campaign_id)).turns == 0


async def test_a_seat_left_by_a_dead_session_can_be_taken(
    sessions: Sessions, salt_road: LoadedCampaign
) -> None:
    ana = await sessions.open("ana")
    bo = await sessions.open("bo")
    campaign_id = await started(ana, salt_road)
    persona = (await ana.campaigns.show(campaign_id)).personas[0]
    await ana.table.take(campaign_id, persona.persona_id)
    # Ana's host died: her presence is gone but it never released the seat.
    await ana.table._command(
        campaign_id,
        lambda t: [
            e for e in t.leave("ana-session", "host lost", START) if e.event_type == "PlayerLeft"
        ],
    )
    assert (await bo.table.view(campaign_id)).seats[0].controller == "ana"
    taken = await bo.table.take(campaign_id, persona.persona_id)
    assert taken.my_persona == persona.persona_id


async def test_tables_are_per_tenant(sessions: Sessions, salt_road: LoadedCampaign) -> None:
    ana = await sessions.open("ana", tenant="acme")
    zed = await sessions.open("zed", tenant="globex")
    campaign_id = await started(ana, salt_road)
    await ana.table.join(campaign_id)
    with pytest.raises(Exception, match="no campaign"):
        await zed.table.join(campaign_id)
    assert await zed.table.leave_session("ana-session") == 0


async def test_a_refresh_racing_a_command_applies_each_event_once(
    sessions: Sessions, salt_road: LoadedCampaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A screen refresh whose table read is slow overlaps a command of the same session."""
    import asyncio

    ana = await sessions.open("ana")
    campaign_id = await started(ana, salt_road)
    await ana.table.join(campaign_id)
    store = ana.table.store
    real_read = store.read_stream
    reading = asyncio.Event()

    async def slow_table_read(stream_id: str, after_version: int = 0) -> list:  # type: ignore[type-arg]
        if stream_id.startswith("table-") and not reading.is_set():
            reading.set()
            await asyncio.sleep(0.1)  # the command runs meanwhile
        return await real_read(stream_id, after_version)

    monkeypatch.setattr(store, "read_stream", slow_table_read)

    async def command() -> None:
        await reading.wait()
        await ana.table.call_turn(campaign_id)

    await asyncio.gather(ana.table.view(campaign_id), command())
    stored = await store.stream_version(f"table-{campaign_id}")
    assert ana.table._tables[campaign_id].version == stored
    # The session goes on working: the turn is played and the next one called.
    assert await ana.table.resolve_due(campaign_id) is not None
    called = await ana.table.call_turn(campaign_id)
    assert called.call is not None and called.call.turn == 2
