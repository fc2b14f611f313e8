"""The reliability scenarios on PostgreSQL, through the real services: two processes and two
services racing for one campaign, tenant isolation (also across a table prefix's schema), and a
sample campaign played end to end with ``DRAMATIS_DB`` naming the server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from reliability_support import Audit, audit_rows, endless

from dramatis.adapters.postgres_store import PostgresEventStore
from dramatis.bootstrap import open_dramatis
from dramatis.config import Settings
from dramatis.services.errors import NotFound
from dramatis.sheets.campaign_loader import find_sample, load_campaign_file
from postgres_support import drop_schemas, new_schema_name, require_postgres


@pytest.fixture
def pg() -> Iterator[tuple[str, str]]:
    dsn = require_postgres()
    base = new_schema_name()
    yield dsn, base
    drop_schemas(dsn, base)


def settings(tmp_path: Path, dsn: str, base: str, **extra: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", db=dsn, postgres_schema=base, **extra)


def pg_audit(dsn: str, schema: str, tenant: str = "default") -> Audit:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            f"SELECT stream_id, stream_type, version, event_type, payload, recorded_at "
            f"FROM {schema}.events WHERE tenant_id = %s ORDER BY position",
            (tenant,),
        ).fetchall()
    return audit_rows(rows)


async def started(app_settings: Settings) -> str:
    async with open_dramatis(app_settings) as app:
        view = await app.campaigns.create(endless(), seed=7, turn_limit=100_000, offline=True)
        await app.campaigns.start(view.campaign_id)
    return view.campaign_id


def test_two_processes_advance_the_same_campaign(tmp_path: Path, pg: tuple[str, str]) -> None:
    dsn, base = pg
    campaign_id = asyncio.run(started(settings(tmp_path, dsn, base)))
    env = {k: v for k, v in os.environ.items() if "GEMINI" not in k}
    env.update(
        DRAMATIS_DB=dsn,
        DRAMATIS_POSTGRES_SCHEMA=base,
        DRAMATIS_DATA_DIR=str(tmp_path / "data"),
        DRAMATIS_CONFIG=str(tmp_path / "no-config.toml"),
    )
    turns_each = 40
    options = ["--turns", str(turns_each), "--offline", "--json"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "dramatis.cli", "advance", campaign_id, *options],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    played: list[int] = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        assert "Traceback" not in stderr
        turns = json.loads(stdout)["played"]
        assert len(turns) == turns_each and turns == sorted(turns)
        played += turns
    assert sorted(played) == list(range(1, 2 * turns_each + 1)), "a turn was lost or repeated"
    report = pg_audit(dsn, base)
    assert report.problems == []
    assert report.campaigns[campaign_id].turns == list(range(1, 2 * turns_each + 1))


async def test_two_services_in_one_loop_interleave_without_gaps(
    tmp_path: Path, pg: tuple[str, str]
) -> None:
    dsn, base = pg
    app_settings = settings(tmp_path, dsn, base)
    campaign_id = await started(app_settings)
    async with open_dramatis(app_settings) as one, open_dramatis(app_settings) as two:
        first, second = await asyncio.gather(
            one.campaigns.advance(campaign_id, turns=30, offline=True),
            two.campaigns.advance(campaign_id, turns=30, offline=True),
        )
        view = await two.campaigns.show(campaign_id)
    turns = sorted(
        [ledger.turn_number for ledger in first.ledgers]
        + [ledger.turn_number for ledger in second.ledgers]
    )
    assert turns == list(range(1, 61))
    assert view.turns == 60
    assert pg_audit(dsn, base).problems == []


async def test_tenants_do_not_see_each_other(tmp_path: Path, pg: tuple[str, str]) -> None:
    dsn, base = pg
    loaded = load_campaign_file(find_sample("salt-road"))
    mine = settings(tmp_path, dsn, base)
    async with open_dramatis(mine) as app:
        view = await app.campaigns.create(loaded, offline=True)
    for other in (
        settings(tmp_path, dsn, base, tenant="other"),
        settings(tmp_path, dsn, base, tenant_table_prefix="acme"),
    ):
        async with open_dramatis(other) as app:
            assert await app.campaigns.list_campaigns() == []
            with pytest.raises(NotFound):
                await app.campaigns.show(view.campaign_id)
            with pytest.raises(NotFound):
                await app.campaigns.advance(view.campaign_id)
    async with open_dramatis(mine) as app:
        assert [s.campaign_id for s in await app.campaigns.list_campaigns()] == [view.campaign_id]


async def test_a_sample_campaign_plays_end_to_end_on_postgres(
    tmp_path: Path, pg: tuple[str, str]
) -> None:
    dsn, base = pg
    loaded = load_campaign_file(find_sample("salt-road"))
    async with open_dramatis(settings(tmp_path, dsn, base)) as app:
        assert isinstance(app.store, PostgresEventStore)
        follower_from = await app.store.last_position()
        woke = asyncio.create_task(app.notifier.wait_for_append(follower_from, 30))
        result = await app.campaigns.play(loaded, turns=12, seed=3, offline=True)
        assert await woke is True
        assert result.view.turns == 12
        path = await app.chronicles.export_default(result.view.campaign_id)
        assert "Chapter 1" in Path(path).read_text(encoding="utf-8")
        shown = await app.campaigns.show(result.view.campaign_id)
        assert shown.turns == 12
        assert await app.store.load_snapshot(result.view.campaign_id) is not None
    report = pg_audit(dsn, base)
    assert report.problems == []
    assert report.campaigns[result.view.campaign_id].turns == list(range(1, 13))
