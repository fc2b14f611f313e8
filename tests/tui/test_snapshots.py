"""How the Setup and Play screens look, at 80x24 and 120x40 (fixed seed, frozen clock)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from dramatis.tui.app import DramatisApp

from .conftest import started_campaign

SIZES = [(80, 24), (120, 40)]


@pytest.fixture(autouse=True)
def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Campaign and persona ids feed the dice, so a snapshot needs the same ids every run."""
    counter = itertools.count(1)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter), version=4))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_setup_first_run(
    snap_compare: Callable[..., bool], make_app: Callable[..., DramatisApp], size: tuple[int, int]
) -> None:
    async def ready(pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_setup_with_campaigns(
    snap_compare: Callable[..., bool], make_app: Callable[..., DramatisApp], size: tuple[int, int]
) -> None:
    async def with_campaigns(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, DramatisApp) and app.dramatis is not None
        await pilot.pause()
        await started_campaign(app.dramatis)
        await app.refresh_screen()
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=with_campaigns)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_play_after_three_turns(
    snap_compare: Callable[..., bool], make_app: Callable[..., DramatisApp], size: tuple[int, int]
) -> None:
    async def three_turns(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, DramatisApp) and app.dramatis is not None
        await pilot.pause()
        campaign_id = await started_campaign(app.dramatis)
        await app.play_campaign(campaign_id)
        for _ in range(3):
            await pilot.press("space")
            await pilot.pause()
            await app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=three_turns)
