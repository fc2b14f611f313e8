"""The terminal app on a temporary data dir, a frozen clock and fixed seeds."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from dramatis.adapters.clock import FrozenClock
from dramatis.bootstrap import Dramatis
from dramatis.config import Settings
from dramatis.domain.campaign_file import BrainKind
from dramatis.sheets.campaign_loader import LoadedCampaign, find_sample, load_campaign_file
from dramatis.tui.app import DramatisApp

SEED = 11


@pytest.fixture
def settings(isolated_environment: Path) -> Settings:
    return Settings(data_dir=isolated_environment, human_timeout_seconds=30)


@pytest.fixture
def themes_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "themes"
    folder.mkdir()
    return folder


@pytest.fixture
def make_app(settings: Settings, themes_dir: Path) -> Callable[..., DramatisApp]:
    def make(**kwargs: object) -> DramatisApp:
        options: dict[str, object] = {
            "clock": FrozenClock(),
            "animate": False,
            "follow_store": False,  # tests call poll_store when they want a live refresh
            "themes_dir": themes_dir,
        }
        options.update(kwargs)
        return DramatisApp(settings, **options)  # type: ignore[arg-type]

    return make


async def settle(pilot: Pilot[None]) -> None:
    """Let the app finish what the last key started: workers, messages, a refresh."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def sample(name: str = "salt-road", brains: dict[int, BrainKind] | None = None) -> LoadedCampaign:
    """A shipped sample, with some personas' brains replaced."""
    loaded = load_campaign_file(find_sample(name))
    personas = tuple(
        dataclasses.replace(
            p, entry=p.entry.model_copy(update={"brain": (brains or {}).get(i, p.brain)})
        )
        for i, p in enumerate(loaded.personas)
    )
    return dataclasses.replace(loaded, personas=personas)


async def started_campaign(dramatis: Dramatis, loaded: LoadedCampaign | None = None) -> str:
    view = await dramatis.campaigns.create(loaded or sample(), seed=SEED)
    await dramatis.campaigns.start(view.campaign_id)
    return view.campaign_id
