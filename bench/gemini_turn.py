"""A six-persona Gemini turn, concurrent beside sequential, against the fake Gemini server.

The fake server answers every generateContent call after ``--delay`` seconds (200 ms by default).
One run measures, side by side:
- one call's latency through the Gemini brain (the floor a turn cannot beat);
- a six-persona turn played through the services with decisions made concurrently;
- the same turn played with one decision at a time.
The target: the concurrent turn costs at most 1.15x one call.

    python bench/gemini_turn.py [--turns 5] [--delay 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "adapters"))

from fake_gemini import FakeGemini

from dramatis.adapters.gemini import GeminiBrain
from dramatis.bootstrap import open_dramatis
from dramatis.config import Settings
from dramatis.engine.director import build_context
from dramatis.sheets.campaign_loader import (
    LoadedCampaign,
    find_sample,
    load_campaign_file,
)

KEY = "bench-key"
MODEL = "gemini-bench"
PERSONAS = 6
TARGET = 1.15


def six_gemini_personas() -> LoadedCampaign:
    """The skerry-light sample (four personas) joined by two salt-road travellers, all on
    Gemini."""
    base = load_campaign_file(find_sample("skerry-light"))
    guests = load_campaign_file(find_sample("salt-road")).personas
    names = {p.sheet.name for p in base.personas}
    extra = [p for p in guests if p.sheet.name not in names][: PERSONAS - len(base.personas)]
    personas = tuple(
        dataclasses.replace(p, entry=p.entry.model_copy(update={"brain": "gemini"}))
        for p in (*base.personas, *extra)
    )
    assert len(personas) == PERSONAS, f"need {PERSONAS} personas, found {len(personas)}"
    return dataclasses.replace(base, personas=personas)


def settings_for(folder: Path, url: str, concurrency: int, name: str) -> Settings:
    return Settings(
        data_dir=folder / name,
        db=str(folder / f"{name}.db"),
        gemini_api_key=KEY,
        gemini_base_url=url,
        gemini_model=MODEL,
        max_concurrent_decisions=concurrency,
    )


async def measure(
    folder: Path, url: str, concurrency: int, turns: int, name: str
) -> tuple[list[float], list[float]]:
    """(one-call latencies, turn latencies) in seconds, for one concurrency bound."""
    loaded = six_gemini_personas()
    async with open_dramatis(settings_for(folder, url, concurrency, name)) as app:
        view = await app.campaigns.create(loaded, seed=7, turn_limit=turns + 10)
        await app.campaigns.start(view.campaign_id)
        campaign = await app.campaigns.get(view.campaign_id)
        assert campaign.world is not None
        brain = app.campaigns.brains["gemini"]
        assert isinstance(brain, GeminiBrain)
        first = campaign.participants[0].persona_id
        context = build_context(
            campaign.world,
            campaign.brief,
            first,
            loaded.personas[0].sheet,
            {p.persona_id: p.name for p in campaign.participants},
            campaign.seed,
            campaign_id=campaign.campaign_id,
        )
        calls = []
        for _ in range(3):  # also warms the connection pool
            started = time.perf_counter()
            decision = await brain.decide(context)
            calls.append(time.perf_counter() - started)
            assert decision.provenance.source == "gemini", decision.provenance
        turn_times = []
        for _ in range(turns):
            started = time.perf_counter()
            result = await app.campaigns.advance(view.campaign_id, turns=1)
            turn_times.append(time.perf_counter() - started)
            sources = {e.source for ledger in result.ledgers for e in ledger.action_log}
            assert sources == {"gemini"}, sources
    return calls, turn_times


async def run(turns: int, delay: float) -> int:
    with (
        FakeGemini(api_key=KEY, model=MODEL, delay=delay) as fake,
        tempfile.TemporaryDirectory(prefix="dramatis-bench-") as tmp,
    ):
        folder = Path(tmp)
        calls_a, concurrent = await measure(folder, fake.url, PERSONAS, turns, "concurrent")
        calls_b, sequential = await measure(folder, fake.url, 1, turns, "sequential")
        requests = fake.count
    floor = statistics.median(calls_a + calls_b)
    turn_c = statistics.median(concurrent)
    turn_s = statistics.median(sequential)
    ratio = turn_c / floor
    print(
        f"fake Gemini answering in {delay * 1000:.0f} ms; {PERSONAS} personas; {turns} turns each"
    )
    print(f"  one call (floor)        {floor * 1000:8.1f} ms")
    print(f"  turn, concurrent        {turn_c * 1000:8.1f} ms   {ratio:5.2f}x the floor")
    print(f"  turn, sequential        {turn_s * 1000:8.1f} ms   {turn_s / floor:5.2f}x the floor")
    print(f"  requests served         {requests}")
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"  target: concurrent turn <= {TARGET:.2f}x one call -> {verdict}")
    return 0 if ratio <= TARGET else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=5, help="turns measured per mode")
    parser.add_argument("--delay", type=float, default=0.2, help="fake server latency, seconds")
    args = parser.parse_args()
    return asyncio.run(run(args.turns, args.delay))


if __name__ == "__main__":
    raise SystemExit(main())
