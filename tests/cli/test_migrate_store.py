"""``dramatis migrate-store``: a SQLite database (several tenants, a table prefix) copied into
PostgreSQL reads back the same through every command, replays verified, and keeps playing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dramatis.cli import main
from postgres_support import drop_schemas, new_schema_name, require_postgres


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ok_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def pg(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    dsn = require_postgres()
    base = new_schema_name()
    monkeypatch.setenv("DRAMATIS_POSTGRES_SCHEMA", base)
    yield dsn, base
    drop_schemas(dsn, base)


# (tenant, table prefix) of the three table sets/tenants played into one SQLite file
TENANTS = [("default", None), ("guild", None), ("acme", "acme")]


def use(monkeypatch: pytest.MonkeyPatch, db: str, tenant: str, prefix: str | None) -> None:
    monkeypatch.setenv("DRAMATIS_DB", db)
    monkeypatch.setenv("DRAMATIS_TENANT", tenant)
    if prefix is None:
        monkeypatch.delenv("DRAMATIS_TENANT_TABLE_PREFIX", raising=False)
    else:
        monkeypatch.setenv("DRAMATIS_TENANT_TABLE_PREFIX", prefix)


def views(capsys: pytest.CaptureFixture[str], campaign_id: str) -> tuple[object, object]:
    listed = ok_json(capsys, "campaigns")
    shown = ok_json(capsys, "show", campaign_id)
    return listed, shown


def test_a_played_database_migrates_and_reads_back_the_same(
    tmp_path: Path,
    pg: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dsn, base = pg
    sqlite_db = str(tmp_path / "dramatis.db")
    before: dict[str, tuple[str, object, object]] = {}
    for index, (tenant, prefix) in enumerate(TENANTS):
        use(monkeypatch, sqlite_db, tenant, prefix)
        turns = ("12", "5", "7")[index]
        played = ok_json(capsys, "play", "salt-road", "--turns", turns, "--offline")
        assert isinstance(played, dict)
        campaign_id = played["campaign_id"]
        code, _, err = run(capsys, "advance", campaign_id, "--idempotency-key", f"k-{tenant}")
        assert code == 0, err
        before[tenant] = (campaign_id, *views(capsys, campaign_id))

    report = ok_json(capsys, "migrate-store", "--from", sqlite_db, "--to", dsn)
    assert isinstance(report, dict)
    assert report["verified"] is True and report["mismatches"] == []
    assert sorted(report["schemas"]) == [base, f"{base}_acme"]
    assert report["tenants"] == 3
    assert report["events"] > 0 and report["streams"] > 0
    assert report["snapshots"] > 0 and report["idempotency_records"] == 3

    for tenant, prefix in TENANTS:
        use(monkeypatch, dsn, tenant, prefix)
        campaign_id, listed, shown = before[tenant]
        assert views(capsys, campaign_id) == (listed, shown)
        code, out, err = run(capsys, "replay", campaign_id, "--verify")
        assert code == 0, err
        assert "every state hash" in out
        # The idempotency record came along: a repeat is still a no-op.
        repeat = ok_json(capsys, "advance", campaign_id, "--idempotency-key", f"k-{tenant}")
        assert isinstance(repeat, dict) and isinstance(shown, dict)
        assert repeat["turns"] == shown["turns"]
        more = ok_json(capsys, "advance", campaign_id, "--turns", "2", "--offline")
        assert isinstance(more, dict)
        assert more["turns"] == shown["turns"] + 2

    # A second copy into the same schemas is refused, and writes nothing.
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM {base}.events").fetchone()
    code, out, err = run(capsys, "migrate-store", "--from", sqlite_db, "--to", dsn)
    assert code == 2
    assert err.count("\n") == 1 and "already holds data" in err
    with psycopg.connect(dsn) as conn:
        assert conn.execute(f"SELECT count(*) FROM {base}.events").fetchone() == row


def test_text_summary_and_positions_are_kept(
    tmp_path: Path,
    pg: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dsn, base = pg
    sqlite_db = tmp_path / "dramatis.db"
    use(monkeypatch, str(sqlite_db), "default", None)
    ok_json(capsys, "play", "salt-road", "--turns", "3", "--offline")
    code, out, err = run(capsys, "migrate-store", "--from", str(sqlite_db), "--to", dsn)
    assert code == 0, err
    assert out.strip().splitlines()[-1].endswith(": verified")
    assert "Traceback" not in err
    import sqlite3

    with sqlite3.connect(sqlite_db) as conn:
        source = conn.execute("SELECT position, stream_id, version FROM events ORDER BY 1")
        source_rows = source.fetchall()
    with psycopg.connect(dsn) as conn:
        target = conn.execute(f"SELECT position, stream_id, version FROM {base}.events ORDER BY 1")
        assert target.fetchall() == source_rows


@pytest.mark.parametrize(
    ("source", "target", "reason"),
    [
        ("missing.db", "postgresql://postgres@127.0.0.1/test", "does not exist"),
        ("not-a-db.db", "postgresql://postgres@127.0.0.1/test", "not a SQLite database"),
        ("empty.db", "postgresql://postgres@127.0.0.1/test", "holds no dramatis event store"),
        ("played.db", "mysql://root@127.0.0.1/test", "postgresql:// DSN"),
        ("played.db", "/tmp/other.db", "postgresql:// DSN"),
        ("played.db", "postgresql://u:pw@127.0.0.1:notaport/test", "not a valid PostgreSQL DSN"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    source: str,
    target: str,
    reason: str,
) -> None:
    (tmp_path / "not-a-db.db").write_text("hello, not sqlite\n" * 100)
    import sqlite3

    sqlite3.connect(tmp_path / "empty.db").close()
    if source == "played.db":
        use(monkeypatch, str(tmp_path / "played.db"), "default", None)
        ok_json(capsys, "play", "salt-road", "--turns", "1", "--offline")
    code, out, err = run(capsys, "migrate-store", "--from", str(tmp_path / source), "--to", target)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and reason in err, err
    assert "pw" not in err.replace("postgresql://", "")


def test_missing_options_are_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "migrate-store", "--from", "x.db")
    assert code == 2 and err.count("\n") == 1 and "--to" in err


def test_an_unreachable_server_is_exit_1_without_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "played.db"
    use(monkeypatch, str(db), "default", None)
    ok_json(capsys, "play", "salt-road", "--turns", "1", "--offline")
    target = "postgresql://someone:s3cret@127.0.0.1:1/test"
    code, _, err = run(capsys, "migrate-store", "--from", str(db), "--to", target)
    assert code == 1
    assert err.count("\n") == 1 and "cannot reach PostgreSQL at 127.0.0.1:1/test" in err
    assert "s3cret" not in err
