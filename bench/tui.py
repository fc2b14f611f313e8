"""The terminal app, measured: cold start to first frame, key press to updated turn, RSS.

(a) cold start: a fresh Python process, from spawn to the first frame of the Setup screen
    (headless), median of repeats, against a 1 s target;
(b) key press (space) to the Play screen's widgets holding the next turn (painted on the next
    frame), offline, median, target 50 ms;
(c) resident memory with a 10,000-turn campaign open on the Play screen, target 250 MB.

    python bench/tui.py [--repeats 5] [--presses 30] [--long-turns 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD_FIRST_FRAME = """
import asyncio, sys
from dramatis.config import Settings
from dramatis.tui.app import DramatisApp

async def main():
    app = DramatisApp(Settings(), animate=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        print("FIRST-FRAME", flush=True)

asyncio.run(main())
"""

CHILD_OPEN_LONG = """
import asyncio, sys
from dramatis.config import Settings
from dramatis.tui.app import DramatisApp

async def main():
    app = DramatisApp(Settings(), animate=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        started = __import__("time").perf_counter()
        await app.play_campaign(sys.argv[1])
        await pilot.pause()
        opened = (__import__("time").perf_counter() - started) * 1000
        assert str(app.screen.view.turns) == sys.argv[2], app.screen.view.turns
        rss = 0
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
        print(f"RSS {rss:.1f} {opened:.1f}", flush=True)

asyncio.run(main())
"""


def child_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DRAMATIS_DATA_DIR"] = str(data_dir)
    env["DRAMATIS_CONFIG"] = str(data_dir / "no-config.toml")
    env.pop("DRAMATIS_DB", None)
    return env


def cold_start(data_dir: Path) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD_FIRST_FRAME],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(data_dir),
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("FIRST-FRAME"):
            elapsed = time.perf_counter() - started
            break
    else:
        raise RuntimeError("the app did not draw a first frame")
    process.wait()
    return elapsed


async def key_to_turn(data_dir: Path, presses: int) -> list[float]:
    from textual import events

    from dramatis.config import Settings
    from dramatis.sheets.campaign_loader import find_sample, load_campaign_file
    from dramatis.tui.app import DramatisApp

    app = DramatisApp(Settings(data_dir=data_dir), animate=False)
    timings: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.dramatis is not None
        sys.path.insert(0, str(Path(__file__).parent))
        from play import endless  # the sample without its story-ending events

        loaded = endless(load_campaign_file(find_sample("skerry-light")))
        view = await app.dramatis.campaigns.create(
            loaded, seed=7, turn_limit=presses + 5, offline=True
        )
        await app.dramatis.campaigns.start(view.campaign_id)
        await app.play_campaign(view.campaign_id)
        await pilot.pause()
        screen = app.screen
        for _ in range(presses):
            before = screen.view.turns  # type: ignore[attr-defined]
            started = time.perf_counter()
            # The key event as the terminal driver delivers it (pilot.press adds ~40 ms of
            # waiting for idle frames, which is the harness, not the app).
            app.post_message(events.Key("space", " "))
            deadline = started + 10
            while screen.view.turns == before or screen.busy:  # type: ignore[attr-defined]
                if time.perf_counter() > deadline:
                    raise RuntimeError("the turn never updated after the key press")
                await asyncio.sleep(0.0005)
            timings.append((time.perf_counter() - started) * 1000)
            await pilot.pause()
    return timings


async def build_long(data_dir: Path, turns: int) -> str:
    sys.path.insert(0, str(Path(__file__).parent))
    from dramatis.bootstrap import open_dramatis
    from dramatis.config import Settings
    from dramatis.sheets.campaign_loader import find_sample, load_campaign_file
    from play import endless  # the sample without its story-ending events

    loaded = endless(load_campaign_file(find_sample("skerry-light")))
    async with open_dramatis(Settings(data_dir=data_dir)) as app:
        view = await app.campaigns.create(loaded, seed=7, turn_limit=turns + 1, offline=True)
        await app.campaigns.start(view.campaign_id)
        await app.campaigns.advance(view.campaign_id, turns=turns, offline=True)
    return view.campaign_id


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--presses", type=int, default=30)
    parser.add_argument("--long-turns", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        starts = [cold_start(root / "cold") for _ in range(args.repeats)]
        start = statistics.median(starts)
        print(
            f"(a) cold start to first frame: {start * 1000:7.0f} ms (median of {args.repeats})"
            f"   target 1000 ms   ratio {start / 1.0:.2f}"
        )

        timings = asyncio.run(key_to_turn(root / "keys", args.presses))
        key = statistics.median(timings)
        print(
            f"(b) space to updated turn:     {key:7.1f} ms (median of {args.presses}, offline)"
            f"   target 50 ms   ratio {key / 50:.2f}"
        )

        long_dir = root / "long"
        started = time.perf_counter()
        campaign_id = asyncio.run(build_long(long_dir, args.long_turns))
        print(
            f"    (built a {args.long_turns:,}-turn campaign"
            f" in {time.perf_counter() - started:.1f} s)"
        )
        out = subprocess.run(
            [sys.executable, "-c", CHILD_OPEN_LONG, campaign_id, str(args.long_turns)],
            capture_output=True,
            text=True,
            env=child_env(long_dir),
            check=True,
        ).stdout
        line = next(line for line in out.splitlines() if line.startswith("RSS"))
        _, rss, opened = line.split()
        print(
            f"(c) RSS, {args.long_turns:,}-turn campaign open: {float(rss):7.1f} MB"
            f"   target 250 MB   ratio {float(rss) / 250:.2f}   (opened in {float(opened):.0f} ms)"
        )


if __name__ == "__main__":
    main()
