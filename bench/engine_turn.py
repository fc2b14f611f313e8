"""The cost of one four-persona offline turn in the engine alone, measured side by side in one run.

(a) policy + resolution: four offline decisions and ``resolve_turn`` (us, against a 500 us budget);
    also shown: building the four decision contexts and writing their text.

    python bench/engine_turn.py [--turns 40] [--repeat 20]

The turns are those of a seeded run of the four-persona sample; each is re-timed ``--repeat``
times from the same world and the mean per turn is printed.
"""

from __future__ import annotations

import argparse
import time

from dramatis.domain.ledger import Decision
from dramatis.engine.director import (
    build_context,
    describe_context,
    play_offline_turn,
    resolve_turn,
)
from dramatis.engine.policy import decide_offline
from dramatis.engine.world import initial_world
from dramatis.sheets.campaign_loader import find_sample, load_campaign_file

SAMPLE = "skerry-light"  # four personas
BUDGET_US = 500.0
STAMP = "2026-01-01T00:00:00Z"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    loaded = load_campaign_file(find_sample(SAMPLE))
    brief = loaded.campaign.world.model_copy(update={"events": ()})  # no ending: a long run
    sheets = {f"p{i}": sheet for i, sheet in enumerate(loaded.sheets)}
    names = {pid: sheet.name for pid, sheet in sheets.items()}
    seed = 7
    world = initial_world(brief, list(sheets), seed)
    worlds = []
    for _ in range(args.turns):
        worlds.append(world)
        world = play_offline_turn(world, brief, sheets, names, seed).world
    contexts = [
        {pid: build_context(w, brief, pid, sheets[pid], names, seed) for pid in sheets}
        for w in worlds
    ]

    def time_per_turn(step) -> float:
        started = time.perf_counter()
        for _ in range(args.repeat):
            for index, w in enumerate(worlds):
                step(index, w)
        return (time.perf_counter() - started) / (args.repeat * len(worlds)) * 1e6

    def policy_and_resolution(index: int, w) -> None:
        decisions: dict[str, Decision] = {
            pid: decide_offline(context) for pid, context in contexts[index].items()
        }
        resolve_turn(w, brief, decisions, sheets, names, seed, w.turn + 1, STAMP, 0.0)

    def policy_only(index: int, w) -> None:
        for context in contexts[index].values():
            decide_offline(context)

    def contexts_only(index: int, w) -> None:
        for pid in sheets:
            build_context(w, brief, pid, sheets[pid], names, seed)

    def texts_only(index: int, w) -> None:
        for context in contexts[index].values():
            describe_context(context)

    policy_and_resolution(0, worlds[0])  # warm the caches
    both = time_per_turn(policy_and_resolution)
    policy = time_per_turn(policy_only)
    built = time_per_turn(contexts_only)
    texts = time_per_turn(texts_only)
    print(f"{len(sheets)} personas, {len(worlds)} turns x {args.repeat}, mean per turn:")
    print(f"  (a) policy + resolution   {both:8.0f} us   {both / BUDGET_US:5.2f} x budget")
    print(f"      policy alone          {policy:8.0f} us")
    print(f"      resolution alone      {both - policy:8.0f} us")
    print(f"      building 4 contexts   {built:8.0f} us")
    print(f"      4 context texts       {texts:8.0f} us")


if __name__ == "__main__":
    main()
