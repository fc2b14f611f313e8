"""Idempotency keys: a repeated command applies once and returns the same result; the same key
with a different command is rejected. Also the schema-evolution round trip through SQLite."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from reliability_support import audit, endless, settings_for, started_campaign

from dramatis.bootstrap import Dramatis, open_dramatis
from dramatis.cli import main
from dramatis.domain.campaign_file import ChroniclerSpec
from dramatis.ports import IdempotencyConflict, NewEvent, StreamAppend


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Dramatis]:
    async with open_dramatis(settings_for(tmp_path / "idem.db")) as opened:
        yield opened


def _events(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


async def test_create_start_advance_archive_apply_once_per_key(
    app: Dramatis, tmp_path: Path
) -> None:
    db = tmp_path / "idem.db"
    loaded = endless()
    created = await app.campaigns.create(loaded, seed=3, offline=True, idempotency_key="c-1")
    after_create = _events(db)
    again = await app.campaigns.create(loaded, seed=3, offline=True, idempotency_key="c-1")
    assert again.campaign_id == created.campaign_id
    assert _events(db) == after_create
    assert len(await app.campaigns.list_campaigns()) == 1

    cid = created.campaign_id
    started = await app.campaigns.start(cid, idempotency_key="s-1")
    assert (await app.campaigns.start(cid, idempotency_key="s-1")).status == started.status
    after_start = _events(db)

    first = await app.campaigns.advance(cid, turns=3, offline=True, idempotency_key="a-1")
    after_advance = _events(db)
    repeat = await app.campaigns.advance(cid, turns=3, offline=True, idempotency_key="a-1")
    assert _events(db) == after_advance > after_start
    assert [ledger.turn_number for ledger in repeat.ledgers] == [1, 2, 3]
    assert repeat.ledgers == first.ledgers
    assert repeat.view.turns == 3

    archived = await app.campaigns.archive(cid, idempotency_key="x-1")
    assert (await app.campaigns.archive(cid, idempotency_key="x-1")).status == "archived"
    assert archived.status == "archived"
    assert audit(db).problems == []


@pytest.mark.parametrize("command", ["create", "start", "advance", "archive"])
async def test_the_same_key_with_a_different_command_is_rejected(
    app: Dramatis, tmp_path: Path, command: str
) -> None:
    db = tmp_path / "idem.db"
    loaded = endless()
    view = await app.campaigns.create(loaded, seed=3, offline=True, idempotency_key="k")
    cid = view.campaign_id
    other = await app.campaigns.create(loaded, seed=4, offline=True)
    await app.campaigns.start(other.campaign_id)
    before = _events(db)
    with pytest.raises(IdempotencyConflict, match="different"):
        if command == "create":
            await app.campaigns.create(loaded, seed=99, offline=True, idempotency_key="k")
        elif command == "start":
            await app.campaigns.start(cid, idempotency_key="k")
        elif command == "advance":
            await app.campaigns.advance(other.campaign_id, offline=True, idempotency_key="k")
        else:
            await app.campaigns.archive(other.campaign_id, idempotency_key="k")
    assert _events(db) == before


async def test_concurrent_creates_with_one_key_make_one_campaign(app: Dramatis) -> None:
    loaded = endless()
    views = await asyncio.gather(
        *(app.campaigns.create(loaded, seed=5, offline=True, idempotency_key="once") for _ in "ab")
    )
    assert views[0].campaign_id == views[1].campaign_id
    assert len(await app.campaigns.list_campaigns()) == 1


def test_cli_idempotency_key_on_advance_and_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cli.db"
    cid = asyncio.run(started_campaign(db))
    monkeypatch.setenv("DRAMATIS_DB", str(db))
    argv = ["advance", cid, "--turns", "2", "--offline", "--json", "--idempotency-key", "k1"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert first["played"] == second["played"] == [1, 2]
    assert audit(db).campaigns[cid].turns == [1, 2]
    assert main(["advance", cid, "--turns", "5", "--offline", "--idempotency-key", "k1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already used for a different request" in err
    assert main(["archive", cid, "--idempotency-key", "k2"]) == 0
    assert main(["archive", cid, "--idempotency-key", "k2"]) == 0
    assert "Archived" in capsys.readouterr().out


async def test_a_v1_campaign_created_row_in_sqlite_is_upcast_through_the_services(
    tmp_path: Path,
) -> None:
    """CampaignCreated v1 had no chronicler; a stored v1 row loads, plays and snapshots."""
    db = tmp_path / "old.db"
    source = await started_campaign(db)
    async with open_dramatis(settings_for(db, snapshot_every=2)) as app:
        original = await app.store.read_stream(source)
        created = original[0]
        assert created.event_type == "CampaignCreated" and created.schema_version == 2
        old_id = "0b6f1c1e-1d1a-4e1f-9a53-2b2f5a0c7d10"
        payload = {key: value for key, value in created.payload.items() if key != "chronicler"} | {
            "campaign_id": old_id
        }
        await app.store.append(
            [
                StreamAppend(
                    old_id,
                    "campaign",
                    0,
                    [NewEvent("CampaignCreated", payload, schema_version=1)],
                )
            ]
        )
        with sqlite3.connect(db) as conn:
            stored = conn.execute(
                "SELECT schema_version, payload FROM events WHERE stream_id = ?", (old_id,)
            ).fetchone()
        assert stored[0] == 1 and "chronicler" not in json.loads(stored[1])

        view = await app.campaigns.show(old_id)
        assert view.name == created.payload["name"]
        assert view.chronicler and view.status == "draft"
        await app.campaigns.start(old_id)
        played = await app.campaigns.advance(old_id, turns=3, offline=True)
        assert [ledger.turn_number for ledger in played.ledgers] == [1, 2, 3]
        assert (await app.campaigns.get(old_id)).chronicler == ChroniclerSpec()
    # Reopened: loads from the snapshot written at turn 2 plus the tail, v1 row and all.
    async with open_dramatis(settings_for(db)) as app:
        assert (await app.store.load_snapshot(old_id)) is not None
        assert (await app.campaigns.show(old_id)).turns == 3
