"""Time travel on a long campaign: fork time and replay-verify time, measured in one run.

Plays a 1,000-turn offline campaign (four personas) through the services, then measures
(a) forking it at turn 10, at the middle and at the last turn (median ms, against 50 ms) and
(b) replaying the whole campaign from its creation events with verification (s, against 2 s).

    python bench/timetravel.py [--turns 1000] [--repeats 5]
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
from dramatis.services.timetravel import TimeTravelService
from dramatis.sheets.campaign_loader import LoadedCampaign, find_sample, load_campaign_file

SAMPLE = "skerry-light"  # four personas
FORK_TARGET_MS = 50.0
VERIFY_TARGET_S = 2.0


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


async def run(folder: Path, turns: int, repeats: int) -> None:
    settings = Settings(data_dir=folder, db=str(folder / "bench.db"))
    loaded = endless(load_campaign_file(find_sample(SAMPLE)))
    async with open_dramatis(settings) as app:
        view = await app.campaigns.create(loaded, seed=7, turn_limit=turns + 100, offline=True)
        await app.campaigns.start(view.campaign_id)
        started = time.perf_counter()
        await app.campaigns.advance(view.campaign_id, turns=turns, offline=True)
        play_s = time.perf_counter() - started
        tt = TimeTravelService(app.campaigns)
        print(f"played {turns} turns in {play_s:.2f} s ({turns / play_s:.0f} turns/s)")

        for at_turn in (10, turns // 2, turns):
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                await tt.fork_campaign(view.campaign_id, at_turn)
                times.append((time.perf_counter() - started) * 1000)
            median = statistics.median(times)
            verdict = "ok" if median < FORK_TARGET_MS else "OVER TARGET"
            print(
                f"fork at turn {at_turn:>5}: median {median:6.1f} ms "
                f"(target {FORK_TARGET_MS:.0f} ms, {median / FORK_TARGET_MS:.2f}x) {verdict}"
            )

        times = []
        report = None
        for _ in range(max(1, repeats // 2)):
            started = time.perf_counter()
            report = await tt.replay(view.campaign_id)
            times.append(time.perf_counter() - started)
        assert report is not None
        median = statistics.median(times)
        verdict = "ok" if median < VERIFY_TARGET_S else "OVER TARGET"
        print(
            f"replay --verify of {report.replayed} turns: median {median:.2f} s "
            f"(target {VERIFY_TARGET_S:.0f} s, {median / VERIFY_TARGET_S:.2f}x) {verdict}; "
            f"verified={report.verified}"
        )
        if not report.verified:
            raise SystemExit(f"replay diverged at turn {report.divergent_turn}: {report.reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(Path(folder), args.turns, args.repeats))


if __name__ == "__main__":
    main()
