"""End-to-end offline play and campaign loading, measured side by side in one run.

(b) 1,000 four-persona turns played through the services (turns/s, against a 500 turns/s target);
(c) loading a long campaign with and without snapshots (ms, against a 10 ms target).

    python bench/play.py [--turns 1000] [--long-turns 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

from dramatis.bootstrap import open_dramatis
from dramatis.config import Settings
from dramatis.domain.campaign import Campaign
from dramatis.domain.persona import Persona
from dramatis.services.codec import decode
from dramatis.services.repository import load_aggregate
from dramatis.sheets.campaign_loader import LoadedCampaign, find_sample, load_campaign_file

SAMPLE = "skerry-light"  # four personas


def settings_in(folder: Path, snapshot_every: int = 10) -> Settings:
    return Settings(data_dir=folder, db=str(folder / "bench.db"), snapshot_every=snapshot_every)


async def play_turns(folder: Path, turns: int, snapshot_every: int = 10) -> tuple[str, float]:
    loaded = endless(load_campaign_file(find_sample(SAMPLE)))
    async with open_dramatis(settings_in(folder, snapshot_every)) as app:
        view = await app.campaigns.create(loaded, seed=7, turn_limit=turns + 1, offline=True)
        await app.campaigns.start(view.campaign_id)
        started = time.perf_counter()
        result = await app.campaigns.advance(view.campaign_id, turns=turns, offline=True)
        elapsed = time.perf_counter() - started
    return view.campaign_id, len(result.ledgers) / elapsed


def endless(loaded: LoadedCampaign) -> LoadedCampaign:
    """The sample without its story-ending events, so a long run is not cut short."""
    world = loaded.campaign.world
    events = tuple(
        event.model_copy(update={"effect": event.effect.model_copy(update={"complete": False})})
        for event in world.events
    )
    campaign = loaded.campaign.model_copy(
        update={"world": world.model_copy(update={"events": events})}
    )
    return dataclasses.replace(loaded, campaign=campaign)


async def load_times(folder: Path, campaign_id: str, repeats: int = 20) -> tuple[float, float]:
    """Median ms to load the campaign and its personas (what playing a turn needs)."""
    async with open_dramatis(settings_in(folder)) as app:
        store = app.store
        with_snapshot, without = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            campaign = await load_aggregate(store, Campaign, campaign_id)
            for persona_id in campaign.participant_ids:
                await load_aggregate(store, Persona, persona_id)
            with_snapshot.append((time.perf_counter() - started) * 1000)
        for _ in range(3):
            started = time.perf_counter()
            campaign = Campaign.from_events(decode(await store.read_stream(campaign_id)))
            for persona_id in campaign.participant_ids:
                Persona.from_events(decode(await store.read_stream(persona_id)))
            without.append((time.perf_counter() - started) * 1000)
    return statistics.median(with_snapshot), statistics.median(without)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--long-turns", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rates = []
        for run in range(3):
            _, rate = await play_turns(Path(tmp) / f"play{run}", args.turns)
            rates.append(rate)
        rate = statistics.median(rates)
        print(f"(b) offline play, {args.turns} turns x 4 personas through the services:")
        print(
            f"    {rate:,.0f} turns/s (median of 3)   target 500 turns/s   ratio {rate / 500:.2f}"
        )

        long_dir = Path(tmp) / "long"
        started = time.perf_counter()
        campaign_id, _ = await play_turns(long_dir, args.long_turns)
        print(
            f"    (built a {args.long_turns:,}-turn campaign"
            f" in {time.perf_counter() - started:.1f} s)"
        )
        with_snapshot, without = await load_times(long_dir, campaign_id)
        print(f"(c) loading the {args.long_turns:,}-turn campaign and its 4 personas:")
        print(f"    with snapshots    {with_snapshot:8.2f} ms (median)   target 10 ms")
        print(f"    without snapshots {without:8.2f} ms (median)")
        print(f"    snapshot speed-up {without / with_snapshot:8.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
