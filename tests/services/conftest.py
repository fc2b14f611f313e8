"""Service fixtures: the real composition root over a SQLite file in a temp dir."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dramatis.adapters.clock import FrozenClock
from dramatis.bootstrap import Dramatis, open_dramatis
from dramatis.config import Settings
from dramatis.sheets.campaign_loader import LoadedCampaign, find_sample, load_campaign_file


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", db=str(tmp_path / "dramatis.db"))


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Dramatis]:
    async with open_dramatis(settings, clock=FrozenClock()) as opened:
        yield opened


@pytest.fixture
def salt_road() -> LoadedCampaign:
    return load_campaign_file(find_sample("salt-road"))


@pytest.fixture
def endless_salt_road(salt_road: LoadedCampaign) -> LoadedCampaign:
    """The sample without its story-ending events: it runs until its turn limit."""
    world = salt_road.campaign.world
    events = tuple(
        event.model_copy(update={"effect": event.effect.model_copy(update={"complete": False})})
        for event in world.events
    )
    campaign = salt_road.campaign.model_copy(
        update={"world": world.model_copy(update={"events": events})}
    )
    return dataclasses.replace(salt_road, campaign=campaign)
