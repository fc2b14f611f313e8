"""Online backup while another process plays, and point-in-time restore with rebuilt snapshots."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from datetime import datetime, timedelta, timezone
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
from dramatis.cli import main
from dramatis.domain.campaign import Campaign
from dramatis.services.codec import decode

ROWS = (
    "SELECT position, tenant_id, stream_id, stream_type, version, event_type, schema_version, "
    "payload, metadata, recorded_at FROM events ORDER BY position"
)


def rows(db: Path, where: str = "", params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    sql = ROWS.replace(" ORDER BY", f" {where} ORDER BY") if where else ROWS
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def snapshots(db: Path) -> dict[str, tuple[int, dict[str, object]]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        found = conn.execute("SELECT stream_id, version, state FROM snapshots").fetchall()
    return {stream: (version, json.loads(state)) for stream, version, state in found}


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A database with a started endless campaign; DRAMATIS_DB points at it."""
    db = tmp_path / "live.db"
    campaign_id = asyncio.run(started_campaign(db))
    monkeypatch.setenv("DRAMATIS_DB", str(db))
    return db, campaign_id


def _backup_while_playing(
    db: Path, campaign_id: str, backup: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, int]:
    """Back up ``db`` while a ``dramatis advance`` subprocess appends to it; the event counts
    seen just before and just after the backup."""
    proc = spawn_cli(db, "advance", campaign_id, "--turns", "100000", "--offline")
    try:
        assert wait_until(lambda: count_events(db) >= 400 or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()[1]
        before = count_events(db)
        status, out, err = cli(capsys, "backup", str(backup), "--json")
        after = count_events(db)
        assert wait_until(lambda: count_events(db) > after + 40 or proc.poll() is not None)
        assert proc.poll() is None, "play stopped during the backup"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert status == 0, err
    report = json.loads(out)
    assert before <= report["events"] <= after
    return before, after


def test_online_backup_then_restore_to_a_time_gives_exactly_the_events_up_to_it(
    live: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, campaign_id = live
    backup = tmp_path / "backups" / "live.bak"
    _backup_while_playing(db, campaign_id, backup, capsys)

    # The backup is a consistent moment: whole turns only, and it is a self-contained file.
    assert not Path(f"{backup}-wal").exists()
    report = audit(backup)
    assert report.problems == []
    played = len(report.campaigns[campaign_id].turns)
    assert played >= 50

    # Restore to the time of a turn in the middle, given with a +02:00 offset.
    turn = played // 2
    turn_rows = [
        row
        for row in rows(backup)
        if row[5] == "TurnAdvanced" and json.loads(row[7])["ledger"]["turn_number"] == turn
    ]
    at = str(turn_rows[0][9])
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    local = moment.astimezone(timezone(timedelta(hours=2))).isoformat()
    restored = tmp_path / "restored.db"
    status, out, err = cli(
        capsys, "restore", str(backup), "--to-time", local, "--into", str(restored), "--json"
    )
    assert status == 0, err
    result = json.loads(out)
    expected = rows(backup, "WHERE recorded_at <= ?", (at,))
    assert rows(restored) == expected
    assert result["events"] == len(expected) < result["events_in_backup"]
    assert audit(restored).campaigns[campaign_id].turns == list(range(1, turn + 1))

    # Snapshots were rebuilt from the restored events, at each stream's last version.
    rebuilt = snapshots(restored)
    assert result["snapshots"] == len(rebuilt) >= 1
    version, state = rebuilt[campaign_id]
    campaign_rows = [row for row in expected if row[2] == campaign_id]
    assert version == len(campaign_rows)
    assert state["current_turn"] == turn

    async def check() -> None:
        async with open_dramatis(settings_for(restored)) as app:
            loaded = await app.campaigns.get(campaign_id)
            folded = Campaign.from_events(decode(await app.store.read_stream(campaign_id)))
            assert loaded == folded
            # Play goes on from the restored turn.
            more = await app.campaigns.advance(campaign_id, turns=2, offline=True)
            assert [ledger.turn_number for ledger in more.ledgers] == [turn + 1, turn + 2]

    asyncio.run(check())
    assert audit(restored).problems == []
    # A time one microsecond earlier leaves that turn out.
    earlier = (moment - timedelta(microseconds=1)).isoformat()
    again = tmp_path / "earlier.db"
    assert cli(capsys, "restore", str(backup), "--to-time", earlier, "--into", str(again))[0] == 0
    assert audit(again).campaigns[campaign_id].turns == list(range(1, turn))


def test_restore_to_a_position_and_over_the_live_database_keeps_a_copy(
    live: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, campaign_id = live
    backup = tmp_path / "live.bak"
    _backup_while_playing(db, campaign_id, backup, capsys)
    backed_up = rows(backup)
    live_before = rows(db)
    assert len(live_before) > len(backed_up)

    # The last event of turn 20's transaction is a boundary; the one before it is not.
    turn20 = next(
        row
        for row in backed_up
        if row[5] == "TurnAdvanced" and json.loads(row[7])["ledger"]["turn_number"] == 20
    )
    same_transaction = [row for row in backed_up if row[9] == turn20[9]]
    end = int(same_transaction[-1][0])
    status, _, err = cli(capsys, "restore", str(backup), "--to-position", str(end - 1))
    assert status == 2
    assert err.count("\n") == 1 and "inside one transaction" in err
    assert rows(db) == live_before, "a refused restore changed the database"

    status, out, err = cli(capsys, "restore", str(backup), "--to-position", str(end), "--json")
    assert status == 0, err
    result = json.loads(out)
    assert rows(db) == [row for row in backed_up if int(row[0]) <= end]
    assert audit(db).campaigns[campaign_id].turns == list(range(1, 21))
    kept = Path(result["kept_copy"])
    assert kept.exists() and rows(kept) == live_before, "the replaced database was not kept"

    status, out, _ = cli(capsys, "advance", campaign_id, "--offline", "--json")
    assert status == 0
    assert json.loads(out)["played"] == [21]


def test_restore_keeps_only_idempotency_records_from_before_the_cut(
    live: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, campaign_id = live
    assert cli(capsys, "advance", campaign_id, "--offline", "--idempotency-key", "first")[0] == 0
    end = rows(db)[-1][0]
    assert cli(capsys, "advance", campaign_id, "--offline", "--idempotency-key", "second")[0] == 0
    backup = tmp_path / "b.bak"
    assert cli(capsys, "backup", str(backup))[0] == 0
    restored = tmp_path / "r.db"
    assert (
        cli(capsys, "restore", str(backup), "--to-position", str(end), "--into", str(restored))[0]
        == 0
    )
    with sqlite3.connect(restored) as conn:
        keys = sorted(row[0] for row in conn.execute("SELECT key FROM idempotency"))
    assert keys == ["first"]
    full = tmp_path / "full.db"
    assert cli(capsys, "restore", str(backup), "--into", str(full))[0] == 0
    assert rows(full) == rows(backup)
    with sqlite3.connect(full) as conn:
        assert conn.execute("SELECT count(*) FROM idempotency").fetchone()[0] == 2


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["backup", "{existing}"], "already exists"),
        (["backup", "{folder}"], "is a folder"),
        (["restore", "{missing}"], "does not exist"),
        (["restore", "{garbage}"], "not a SQLite database"),
        (["restore", "{empty_db}"], "holds no dramatis event store"),
        (["restore", "{backup}", "--to-position", "999999"], "past the end"),
        (["restore", "{backup}", "--to-time", "last tuesday"], "not an ISO 8601 time"),
        (["restore", "{backup}", "--to-position", "-3"], "must be 0 or more"),
        (["restore", "{backup}", "--to-position", "1", "--to-time", "2026-01-01"], "not allowed"),
        (["restore", "{backup}", "--into", "{existing}"], "already exists"),
    ],
)
def test_bad_backup_and_restore_requests_exit_2_in_one_line(
    live: tuple[Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    reason: str,
) -> None:
    db, _ = live
    backup = tmp_path / "good.bak"
    assert cli(capsys, "backup", str(backup))[0] == 0
    (tmp_path / "existing.db").write_text("x")
    (tmp_path / "folder").mkdir()
    (tmp_path / "garbage.bak").write_bytes(b"\x00\xffnot sqlite at all" * 200)
    sqlite3.connect(tmp_path / "empty.db").close()
    names = {
        "existing": tmp_path / "existing.db",
        "folder": tmp_path / "folder",
        "missing": tmp_path / "missing.bak",
        "garbage": tmp_path / "garbage.bak",
        "empty_db": tmp_path / "empty.db",
        "backup": backup,
    }
    before = rows(db)
    status, _, err = cli(capsys, *(arg.format(**names) for arg in argv))
    assert status == 2
    assert err.count("\n") == 1 and reason in err, err
    assert "Traceback" not in err
    assert rows(db) == before
