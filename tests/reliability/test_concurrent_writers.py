"""Concurrent writers: two writers advance one campaign at once; no turn is duplicated or skipped.

The loser of a race (its append finds the campaign stream moved on: ConcurrencyError) reloads and
plays the next turn, a bounded number of times; past the bound it reports the conflict cleanly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from reliability_support import audit, settings_for, spawn_cli, started_campaign

from dramatis.adapters.clock import SystemClock
from dramatis.adapters.offline_brain import OfflineBrain
from dramatis.adapters.sqlite_store import SQLiteEventStore
from dramatis.bootstrap import open_dramatis
from dramatis.cli import main
from dramatis.ports import ConcurrencyError, IdempotencyRecord, RecordedEvent, StreamAppend
from dramatis.services.campaigns import CampaignService

TURNS_EACH = 100


def test_two_processes_advance_the_same_campaign_100_turns_each(tmp_path: Path) -> None:
    db = tmp_path / "race.db"
    campaign_id = asyncio.run(started_campaign(db))
    procs = [
        spawn_cli(db, "advance", campaign_id, "--turns", str(TURNS_EACH), "--offline", "--json")
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    played: list[list[int]] = []
    lost = 0
    for proc, (stdout, stderr) in zip(procs, outputs, strict=True):
        assert "Traceback" not in stderr
        if proc.returncode == 0:
            data = json.loads(stdout)
            played.append(data["played"])
            lost += data["lost_races"]
        else:  # a clean report: exit 1 and one line saying another process got in first
            assert proc.returncode == 1
            assert stderr.count("\n") == 1 and "another process" in stderr
    assert len(played) == 2, "both writers finish within their retry bound"
    for turns in played:
        assert len(turns) == TURNS_EACH
        assert turns == sorted(turns)
    every = sorted(played[0] + played[1])
    assert every == list(range(1, 2 * TURNS_EACH + 1)), "a turn was duplicated or skipped"
    report = audit(db)
    assert report.problems == []
    assert report.campaigns[campaign_id].turns == list(range(1, 2 * TURNS_EACH + 1))
    print(f"\nconcurrent writers: {2 * TURNS_EACH} turns, {lost} lost races retried")


async def test_two_services_in_one_loop_interleave_without_gaps(tmp_path: Path) -> None:
    db = tmp_path / "race.db"
    campaign_id = await started_campaign(db)
    async with open_dramatis(settings_for(db)) as one, open_dramatis(settings_for(db)) as two:
        first, second = await asyncio.gather(
            one.campaigns.advance(campaign_id, turns=60, offline=True),
            two.campaigns.advance(campaign_id, turns=60, offline=True),
        )
        view = await one.campaigns.show(campaign_id)
    turns = sorted(
        [ledger.turn_number for ledger in first.ledgers]
        + [ledger.turn_number for ledger in second.ledgers]
    )
    assert turns == list(range(1, 121))
    assert view.turns == 120
    assert audit(db).problems == []


class _RivalFirst:
    """An event store whose next ``rival_turns`` appends are preceded by a rival's turn."""

    def __init__(self, inner: SQLiteEventStore, rival: CampaignService, campaign_id: str) -> None:
        self.inner = inner
        self.rival = rival
        self.campaign_id = campaign_id
        self.rival_turns = 0
        self.tenant_id = inner.tenant_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def append(
        self, appends: Sequence[StreamAppend], idempotency: IdempotencyRecord | None = None
    ) -> list[RecordedEvent]:
        if self.rival_turns > 0 and appends and appends[0].stream_type == "campaign":
            self.rival_turns -= 1
            await self.rival.advance(self.campaign_id, offline=True)
        return await self.inner.append(appends, idempotency)


async def _services(db: Path, campaign_id: str, retries: int) -> tuple[CampaignService, Any]:
    rival_store = SQLiteEventStore(db, "default")
    await rival_store.open()
    rival = CampaignService(rival_store, SystemClock(), {"offline": OfflineBrain()})
    store = _RivalFirst(SQLiteEventStore(db, "default"), rival, campaign_id)
    await store.inner.open()
    service = CampaignService(
        store, SystemClock(), {"offline": OfflineBrain()}, race_retries=retries
    )
    return service, store


@pytest.mark.parametrize("rival_turns", [1, 3])
async def test_a_lost_race_is_retried_with_the_next_turn(tmp_path: Path, rival_turns: int) -> None:
    db = tmp_path / "race.db"
    campaign_id = await started_campaign(db)
    service, store = await _services(db, campaign_id, retries=5)
    try:
        store.rival_turns = rival_turns
        result = await service.advance(campaign_id, turns=2, offline=True)
    finally:
        await store.inner.close()
        await store.rival.store.close()
    # The rival took turns 1..rival_turns; this writer lost each race and played the next two.
    assert [ledger.turn_number for ledger in result.ledgers] == [
        rival_turns + 1,
        rival_turns + 2,
    ]
    assert result.lost_races == rival_turns
    assert result.view.turns == rival_turns + 2
    assert audit(db).problems == []


async def test_past_the_retry_bound_the_conflict_is_reported_and_nothing_is_half_written(
    tmp_path: Path,
) -> None:
    db = tmp_path / "race.db"
    campaign_id = await started_campaign(db)
    service, store = await _services(db, campaign_id, retries=2)
    try:
        store.rival_turns = 3  # one more lost race than the bound allows
        with pytest.raises(ConcurrencyError, match="nothing was appended"):
            await service.advance(campaign_id, turns=1, offline=True)
    finally:
        await store.inner.close()
        await store.rival.store.close()
    report = audit(db)
    assert report.problems == []
    assert report.campaigns[campaign_id].turns == [1, 2, 3]  # only the rival's turns


def test_the_cli_reports_a_lost_race_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "race.db"
    campaign_id = asyncio.run(started_campaign(db))
    monkeypatch.setenv("DRAMATIS_DB", str(db))

    async def always_lose(self: CampaignService, *args: Any, **kwargs: Any) -> Any:
        raise ConcurrencyError(f"stream {campaign_id!r} is at version 9, expected 2")

    monkeypatch.setattr(CampaignService, "_play_turn", always_lose)
    assert main(["advance", campaign_id, "--offline"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "another process changed it; try again" in err
