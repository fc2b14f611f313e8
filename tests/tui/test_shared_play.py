"""Shared play in the terminal app: this session (ana) at a table with another session (bo) on
the same database; the store is checked after every key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from dramatis.adapters.clock import FrozenClock
from dramatis.bootstrap import Dramatis, open_dramatis
from dramatis.config import Settings
from dramatis.services.table import table_stream_id
from dramatis.tui.app import DramatisApp
from dramatis.tui.screens.play import PlayScreen

from .conftest import settle, started_campaign

POLL_DEADLINE_SECONDS = 20.0


def plain(value: object) -> str:
    return getattr(value, "plain", str(value))


def shared_settings(tmp_path: Path, player: str, role: str = "player") -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        db=str(tmp_path / "shared.db"),
        player=player,
        role=role,
        session=f"{player}-session",
        human_timeout_seconds=30,
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def bo(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Dramatis]:
    async with open_dramatis(shared_settings(tmp_path, "bo"), clock=clock) as opened:
        yield opened


async def until(pilot: Pilot[None], condition: object, what: str) -> None:
    """Let the app run until ``condition()`` (sync or async) holds; fail after a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + POLL_DEADLINE_SECONDS
    while True:
        result = condition()  # type: ignore[operator]
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def table_events(dramatis: Dramatis, campaign_id: str) -> list[str]:
    records = await dramatis.store.read_stream(table_stream_id(campaign_id))
    return [f"{r.event_type}:{r.payload.get('player')}" for r in records]


def by_column(screen: PlayScreen) -> dict[str, str]:
    table = screen.query_one("#turn-table", DataTable)
    return {
        plain(table.get_row_at(i)[0]): plain(table.get_row_at(i)[3]) for i in range(table.row_count)
    }


async def open_table(app: DramatisApp, pilot: Pilot[None], campaign_id: str) -> PlayScreen:
    await app.play_campaign(campaign_id)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, PlayScreen)
    return screen


async def test_two_players_share_a_table_and_play_a_turn_together(
    tmp_path: Path, clock: FrozenClock, bo: Dramatis
) -> None:
    campaign_id = await started_campaign(bo)
    personas = (await bo.campaigns.show(campaign_id)).personas
    app = DramatisApp(shared_settings(tmp_path, "ana"), clock=clock, animate=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_table(app, pilot, campaign_id)
        assert app.dramatis is not None
        assert "PlayerJoined:ana" in await table_events(bo, campaign_id)

        # Bo takes the first persona in another session: ana's screen shows it.
        await bo.table.take(campaign_id, personas[0].persona_id)
        await until(pilot, lambda: by_column(screen)[personas[0].name] == "bo", "bo's seat")
        assert "bo" in plain(screen.query_one("#table-bar", Static).render())

        # Ana cannot take bo's persona; she takes the second one.
        table = screen.query_one("#turn-table", DataTable)
        table.move_cursor(row=0)
        await pilot.press("t")
        await settle(pilot)
        assert "SeatTaken:ana" not in await table_events(bo, campaign_id)
        table.move_cursor(row=1)
        await pilot.press("t")
        await settle(pilot)
        assert "SeatTaken:ana" in await table_events(bo, campaign_id)
        assert by_column(screen)[personas[1].name] == "you"

        # Ana calls the turn; both choose; the turn is played with both choices.
        await pilot.press("space")
        await until(
            pilot,
            lambda: screen.pending,
            "ana's choice panel",
        )
        assert "TurnCalled:ana" in await table_events(bo, campaign_id)
        await pilot.press("2")

        async def ana_chose() -> bool:
            return "ChoiceMade:ana" in await table_events(bo, campaign_id)

        await until(pilot, ana_chose, "ana's choice")
        assert (await bo.campaigns.show(campaign_id)).turns == 0  # still waiting for bo
        await bo.table.choose(campaign_id, 0)

        async def played() -> bool:
            return (await bo.campaigns.show(campaign_id)).turns == 1

        await until(pilot, played, "the turn to be played")
        ledger = (await bo.campaigns.ledger(campaign_id, 1, 1))[0]
        sources = {e.persona_id: e.source for e in ledger.action_log}
        assert sources[personas[0].persona_id] == "human"
        assert sources[personas[1].persona_id] == "human"
        await until(pilot, lambda: not screen.busy, "the turn worker to finish")
        assert screen.view is not None and screen.view.turns == 1
    # Quitting released ana's seat and left the table.
    events = await table_events(bo, campaign_id)
    assert events[-2:] == ["SeatReleased:ana", "PlayerLeft:ana"]


async def test_a_viewer_sees_the_table_but_cannot_call_a_turn_or_take_a_persona(
    tmp_path: Path, clock: FrozenClock, bo: Dramatis
) -> None:
    campaign_id = await started_campaign(bo)
    app = DramatisApp(shared_settings(tmp_path, "eve", "viewer"), clock=clock, animate=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_table(app, pilot, campaign_id)
        await pilot.press("space")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        events = await table_events(bo, campaign_id)
        assert events == ["PlayerJoined:eve"]
        assert (await bo.campaigns.show(campaign_id)).turns == 0
        assert "eve (you) watching" in plain(screen.query_one("#table-bar", Static).render())

        # Opening another campaign leaves the first table.
        other_id = await started_campaign(bo)
        await open_table(app, pilot, other_id)
        assert await table_events(bo, campaign_id) == ["PlayerJoined:eve", "PlayerLeft:eve"]
        assert await table_events(bo, other_id) == ["PlayerJoined:eve"]


def test_auto_play_is_paced_in_shared_play_and_free_alone(tmp_path: Path) -> None:
    assert DramatisApp(shared_settings(tmp_path, "ana")).autoplay_pace_seconds == 2.0
    alone = Settings(data_dir=tmp_path / "data")
    assert DramatisApp(alone).autoplay_pace_seconds == 0.0
    chosen = shared_settings(tmp_path, "ana").model_copy(update={"autoplay_pace_seconds": 0.25})
    assert DramatisApp(chosen).autoplay_pace_seconds == 0.25
