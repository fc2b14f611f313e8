"""A small app around one screen, over a real SQLite store, for the persona, chronicle and
control-plane screen tests.

``make_world`` plays a sample campaign through the services with a frozen clock and a fixed
decision latency, so that what the screens show is the same on every run (snapshots rely on it).
``make_app`` builds the real ``DramatisApp`` over that store; ``show_mode`` selects the campaign
and switches to a screen's mode, as a user would from the Setup screen.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.widgets import Input

from dramatis.adapters.clock import FrozenClock
from dramatis.adapters.offline_brain import OfflineBrain
from dramatis.bootstrap import open_dramatis
from dramatis.config import Settings
from dramatis.domain.context import DecisionContext
from dramatis.domain.ledger import Decision
from dramatis.ports import RecordedEvent
from dramatis.sheets.campaign_loader import LoadedCampaign, find_sample, load_campaign_file
from dramatis.tui.app import DramatisApp

SEED = 7


class SteadyOfflineBrain:
    """The offline brain with a fixed latency, so screens show the same numbers every run."""

    name = "offline"

    def __init__(self, latency_ms: float = 2.0) -> None:
        self._brain = OfflineBrain()
        self._latency_ms = latency_ms

    async def decide(self, context: DecisionContext) -> Decision:
        decision = await self._brain.decide(context)
        provenance = decision.provenance.model_copy(update={"latency_ms": self._latency_ms})
        return decision.model_copy(update={"provenance": provenance})


@dataclass
class World:
    """A played campaign in a data directory."""

    settings: Settings
    campaign_id: str
    persona_ids: list[str]


# Measurements recorded through the control plane for the SLO screens: a varied series with one
# breach of the turn latency objective; "fallback rate" stays unmeasured.
SLO_SERIES: tuple[dict[str, float], ...] = tuple(
    {"turn p95": turn, "append p99": append}
    for turn, append in (
        (0.8, 3.1),
        (1.1, 4.0),
        (0.9, 3.4),
        (1.6, 5.2),
        (2.4, 6.8),
        (1.3, 4.1),
        (1.0, 3.6),
    )
)


@contextmanager
def seeded_uuids(seed: int = SEED) -> Iterator[None]:
    """Make ``uuid.uuid4`` repeatable, so campaign and persona ids (and anything ordered or
    rolled by them) are the same on every run."""
    rng = random.Random(seed)
    original = uuid.uuid4
    uuid.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)  # type: ignore[assignment]
    try:
        yield
    finally:
        uuid.uuid4 = original  # type: ignore[assignment]


def settings_for(root: Path) -> Settings:
    return Settings(data_dir=root / "data", db=str(root / "dramatis.db"))


async def make_world(
    root: Path,
    *,
    turns: int = 5,
    loaded: LoadedCampaign | None = None,
    chapters: int = 0,
    batches: int = 1,
    clock_step: float = 0.0,
    measurements: Sequence[Mapping[str, float]] = (),
) -> World:
    """Create, start and play a campaign (and compose ``chapters`` chapters) in ``root``.

    ``turns`` are played in ``batches`` calls (each records one SLO measurement); a frozen clock
    whose timer moves ``clock_step`` seconds per reading makes those measurements non-zero.
    ``measurements`` are then recorded through the control plane, one batch per mapping.
    """
    settings = settings_for(root)
    with seeded_uuids():
        return await _play(settings, turns, loaded, chapters, batches, clock_step, measurements)


async def _play(
    settings: Settings,
    turns: int,
    loaded: LoadedCampaign | None,
    chapters: int,
    batches: int,
    clock_step: float,
    measurements: Sequence[Mapping[str, float]],
) -> World:
    async with open_dramatis(
        settings, clock=FrozenClock(step=clock_step), extra_brains={"offline": SteadyOfflineBrain()}
    ) as dramatis:
        view = await dramatis.campaigns.create(
            loaded or load_campaign_file(find_sample("salt-road")), seed=SEED
        )
        await dramatis.campaigns.start(view.campaign_id)
        for batch in range(batches):
            share = turns // batches + (1 if batch < turns % batches else 0)
            if share:
                await dramatis.campaigns.advance(view.campaign_id, turns=share)
        for _ in range(chapters):
            await dramatis.chronicles.compose_next(view.campaign_id)
        await dramatis.control_plane.load()  # seed the control plane like a first visit does
        for values in measurements:
            await dramatis.control_plane.record_measurements(dict(values))
        return World(settings, view.campaign_id, [p.persona_id for p in view.personas])


def make_world_sync(root: Path, **kwargs: Any) -> World:
    return asyncio.run(make_world(root, **kwargs))


async def read_events(settings: Settings) -> list[RecordedEvent]:
    """Every event in the store, in order."""
    async with open_dramatis(settings, clock=FrozenClock()) as dramatis:
        return list(await dramatis.store.read_all(0))


def make_app(world: World, root: Path) -> DramatisApp:
    """The real app over the world's store, with a frozen clock and no animation."""
    return DramatisApp(
        world.settings,
        clock=FrozenClock(),
        animate=False,
        follow_store=False,
        themes_dir=root / "no-themes",
    )


async def show_mode(
    app: DramatisApp, mode: str, world: World | None = None, *, persona: int = 0
) -> None:
    """Select the world's campaign (and one of its personas) and switch to ``mode``."""
    if world is not None:
        app.campaign_id = world.campaign_id
        app.persona_id = world.persona_ids[persona]
    await app.go(mode)


def no_blink(app: DramatisApp) -> None:
    """Stop input cursors blinking (snapshots)."""
    for field in app.screen.query(Input):
        field.cursor_blink = False
