"""Crash safety: ``dramatis`` killed with SIGKILL at seeded random moments never leaves a half turn.

Each round starts one long ``dramatis advance`` (or ``dramatis play``) subprocess, waits until the
database holds a seeded random number of further events, and kills it with SIGKILL. After every
kill the raw rows are audited (complete turns only, contiguous turn numbers, each turn's events in
one transaction), the campaign loads through the services, and the next round resumes play from
where the killed one stopped.
"""

from __future__ import annotations

import json
import random
import signal
import sys
from pathlib import Path

import pytest
from reliability_support import (
    audit,
    count_events,
    settings_for,
    spawn_cli,
    started_campaign,
    wait_until,
)

from dramatis.bootstrap import open_dramatis

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX only")

ADVANCE_KILLS = 30
PLAY_KILLS = 6
SEED = 20261125


def _kill_when(db: Path, args: list[str], target_events: int) -> int:
    """Run ``dramatis ARGS``; SIGKILL it once ``db`` has ``target_events`` events. Its status."""
    proc = spawn_cli(db, *args)
    try:
        wait_until(lambda: proc.poll() is not None or count_events(db) >= target_events)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in stderr, stderr
    return proc.returncode


async def _turns_through_services(db: Path, campaign_id: str) -> int:
    async with open_dramatis(settings_for(db)) as app:
        view = await app.campaigns.show(campaign_id)
        ledger = await app.campaigns.ledger(campaign_id)
    assert [entry.turn_number for entry in ledger] == list(range(1, view.turns + 1))
    return view.turns


async def test_sigkill_at_random_moments_never_leaves_a_half_turn(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    campaign_id = await started_campaign(db)
    rng = random.Random(SEED)
    kills = 0
    turns_before = 0
    for _ in range(ADVANCE_KILLS):
        target = count_events(db) + rng.randint(1, 150)
        status = _kill_when(db, ["advance", campaign_id, "--turns", "100000", "--offline"], target)
        assert status == -signal.SIGKILL, f"advance ended by itself with status {status}"
        kills += 1
        report = audit(db)
        assert report.problems == []
        turns = report.campaigns[campaign_id].turns
        assert len(turns) > turns_before, "no turn was committed, or one was lost"
        assert await _turns_through_services(db, campaign_id) == len(turns)
        turns_before = len(turns)
    assert turns_before > 0

    # Kills while `dramatis play` creates, starts and plays a new campaign.
    for _ in range(PLAY_KILLS):
        target = count_events(db) + rng.randint(1, 40)
        status = _kill_when(db, ["play", "salt-road", "--offline", "--turns", "40"], target)
        kills += status == -signal.SIGKILL
        assert status in (0, -signal.SIGKILL)
        assert audit(db).problems == []

    # Play resumes from the last committed turn.
    proc = spawn_cli(db, "advance", campaign_id, "--turns", "3", "--offline", "--json")
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert json.loads(stdout)["played"] == [turns_before + 1, turns_before + 2, turns_before + 3]
    final = audit(db)
    assert final.problems == []
    assert len(final.campaigns[campaign_id].turns) == turns_before + 3
    for campaign in final.campaigns.values():
        assert campaign.turns == list(range(1, len(campaign.turns) + 1))
    assert kills >= ADVANCE_KILLS
    print(f"\ncrash safety: {kills} SIGKILLs survived, {turns_before + 3} turns, nothing lost")
