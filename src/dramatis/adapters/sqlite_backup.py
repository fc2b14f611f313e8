"""Online backup and point-in-time restore of a SQLite event store file.

Backup uses SQLite's online backup API: it copies the database page by page inside one read
transaction, so the copy is a consistent picture of one moment, and in WAL mode writers in other
processes carry on while it runs. The copy is written beside the target under a temporary name,
switched to a self-contained rollback journal, checked, and only then renamed into place: a
backup file either is complete or does not exist.

Restore never edits a database in place. It builds a NEW database file from a backup by
replaying the backup's event log, row by row in position order, up to a cut (a global position
or a UTC time), through the same schema, constraints and contiguity trigger as a live store.
Each event keeps its position, stream version and record time. Snapshots are not copied (they may
describe state past the cut); the caller rebuilds them from the restored events. Idempotency
records are kept when they were recorded before the cut.

Positions are per table set: the default tables and each enterprise tenant's prefixed tables
(``acme_events``, ...) number their events separately; a position cut applies to each set.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dramatis.adapters.sqlite_store import _tables

__all__ = [
    "BackupReport",
    "RecoveryInputError",
    "RestoreReport",
    "TableSet",
    "backup_sqlite",
    "finish_restored",
    "normalise_time",
    "replace_database",
    "restore_sqlite",
]

_EVENTS_TABLE = re.compile(r"^(?:([a-z][a-z0-9_]{0,30})_)?events$")
_BATCH = 2000
_EVENT_COLUMNS = (
    "position, tenant_id, stream_id, stream_type, version, event_type, schema_version, "
    "payload, metadata, recorded_at"
)


class RecoveryInputError(Exception):
    """A backup or restore request the user must fix (missing file, bad cut, ...)."""


@dataclass(frozen=True, slots=True)
class TableSet:
    """One set of event-store tables in a file and what it holds."""

    prefix: str | None
    events: int
    last_position: int
    tenants: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BackupReport:
    """A finished backup: where it is and what it holds."""

    path: Path
    bytes: int
    table_sets: tuple[TableSet, ...]

    @property
    def events(self) -> int:
        return sum(item.events for item in self.table_sets)

    @property
    def last_position(self) -> int:
        return max((item.last_position for item in self.table_sets), default=0)


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """A restored database: how much of the backup's log it holds."""

    path: Path
    table_sets: tuple[TableSet, ...]
    events_in_backup: int
    idempotency_records: int
    cut: str  # a sentence: "every event", "events up to position 42", ...
    snapshots: int = 0
    kept_copy: Path | None = None
    tenants: tuple[tuple[str | None, str], ...] = field(default=())

    @property
    def events(self) -> int:
        return sum(item.events for item in self.table_sets)

    @property
    def last_position(self) -> int:
        return max((item.last_position for item in self.table_sets), default=0)


# ---------------------------------------------------------------- helpers


def normalise_time(text: str) -> str:
    """An ISO 8601 time as the store writes ``recorded_at`` (UTC, microseconds, ``Z``).

    A time without an offset is taken as UTC. RecoveryInputError if ``text`` is not a time.
    """
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise RecoveryInputError(
            f"{text!r} is not an ISO 8601 time; use e.g. 2026-11-25T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


@contextlib.contextmanager
def _connect(path: Path, *, timeout: float = 5.0) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        yield db
    finally:
        db.close()


def _open_existing(path: Path, what: str) -> sqlite3.Connection:
    """A connection to an existing SQLite file, or RecoveryInputError saying what is wrong."""
    if not path.exists():
        raise RecoveryInputError(f"{what} {path} does not exist")
    if not path.is_file():
        raise RecoveryInputError(f"{what} {path} is not a file")
    db = sqlite3.connect(path, timeout=5.0, isolation_level=None)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        db.close()
        raise RecoveryInputError(f"{what} {path} is not a SQLite database ({exc})") from None
    return db


def _table_sets(db: sqlite3.Connection) -> list[str | None]:
    """The prefixes of the event-store table sets in a database (None: the default tables)."""
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    prefixes: list[str | None] = []
    for name in sorted(names):
        match = _EVENTS_TABLE.fullmatch(name)
        if match is None:
            continue
        prefix = match.group(1)
        tables = _tables(prefix)
        if tables.snapshots in names and tables.idempotency in names:
            prefixes.append(prefix)
    return prefixes


def _describe(db: sqlite3.Connection, prefix: str | None) -> TableSet:
    events = _tables(prefix).events
    sql = f"SELECT count(*), COALESCE(MAX(position), 0) FROM {events}"
    count, last = db.execute(sql).fetchone()
    tenants = tuple(
        row[0] for row in db.execute(f"SELECT DISTINCT tenant_id FROM {events} ORDER BY 1")
    )
    return TableSet(prefix, int(count), int(last), tenants)


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def _self_contained(db: sqlite3.Connection) -> None:
    """Fold any WAL content into the main file and leave it in rollback-journal mode."""
    db.execute("PRAGMA journal_mode = DELETE").fetchone()
    result = db.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise sqlite3.DatabaseError(f"integrity check failed: {result}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- backup


def backup_sqlite(source: Path, target: Path, *, overwrite: bool = False) -> BackupReport:
    """Copy the event store file ``source`` to ``target`` while other processes keep writing.

    RecoveryInputError if ``source`` is not an event store, or ``target`` exists (unless
    ``overwrite``) or is a folder. sqlite3.Error / OSError for failures while copying; then no
    file is left at ``target`` (an existing one is untouched).
    """
    source, target = Path(source), Path(target)
    if target.is_dir():
        raise RecoveryInputError(f"{target} is a folder; give a file name for the backup")
    if target.exists() and not overwrite:
        raise RecoveryInputError(f"{target} already exists; choose a new name or use --force")
    if target.exists() and target.resolve() == source.resolve():
        raise RecoveryInputError(f"{target} is the database itself; choose another file")
    src = _open_existing(source, "database")
    try:
        if not _table_sets(src):
            raise RecoveryInputError(f"{source} holds no dramatis event store")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecoveryInputError(f"cannot create {target.parent}: {exc.strerror}") from None
        partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
        _remove(partial)
        try:
            with _connect(partial) as dst:
                # One step (pages=-1): the whole copy is one read transaction, so it is
                # consistent, and WAL lets writers go on meanwhile.
                src.backup(dst, pages=-1)
                _self_contained(dst)
                sets = tuple(_describe(dst, prefix) for prefix in _table_sets(dst))
            _fsync(partial)
            os.replace(partial, target)
        except BaseException:
            _remove(partial)
            raise
    finally:
        src.close()
    return BackupReport(target, target.stat().st_size, sets)


# ---------------------------------------------------------------- restore


def restore_sqlite(
    backup: Path,
    target: Path,
    *,
    to_position: int | None = None,
    to_time: str | None = None,
) -> RestoreReport:
    """Build a new event store at ``target`` from ``backup``'s events up to a cut.

    ``to_position`` keeps events with position <= N (it must fall between two transactions: a
    turn is never cut in half); ``to_time`` (ISO 8601) keeps events recorded at or before it.
    With neither, every event is kept. ``target`` must not exist. Snapshots are left empty for
    the caller to rebuild. RecoveryInputError for a bad request.
    """
    if to_position is not None and to_time is not None:
        raise RecoveryInputError("give --to-position or --to-time, not both")
    if to_position is not None and to_position < 0:
        raise RecoveryInputError(f"a position is 0 or more, not {to_position}")
    cut_time = normalise_time(to_time) if to_time is not None else None
    backup, target = Path(backup), Path(target)
    if target.exists():
        raise RecoveryInputError(f"{target} already exists; restore into a new file")
    src = _open_existing(backup, "backup")
    try:
        try:
            prefixes = _table_sets(src)
        except sqlite3.DatabaseError as exc:
            raise RecoveryInputError(f"backup {backup} cannot be read ({exc})") from None
        if not prefixes:
            raise RecoveryInputError(f"{backup} holds no dramatis event store")
        in_backup = sum(_describe(src, prefix).events for prefix in prefixes)
        if to_position is not None:
            last = max(_describe(src, prefix).last_position for prefix in prefixes)
            if to_position > last:
                raise RecoveryInputError(
                    f"position {to_position} is past the end of the backup (last position {last})"
                )
            for prefix in prefixes:
                _check_boundary(src, prefix, to_position)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecoveryInputError(f"cannot create {target.parent}: {exc.strerror}") from None
        kept_idempotency = 0
        try:
            with _connect(target) as dst:
                dst.execute("PRAGMA journal_mode = DELETE").fetchone()
                for prefix in prefixes:  # (executescript commits: schemas first)
                    dst.executescript(_tables(prefix).schema)
                dst.execute("BEGIN IMMEDIATE")
                for prefix in prefixes:
                    kept_idempotency += _replay(src, dst, prefix, to_position, cut_time)
                dst.execute("COMMIT")
                sets = tuple(_describe(dst, prefix) for prefix in prefixes)
        except BaseException:
            _remove(target)
            raise
    finally:
        src.close()
    if to_position is not None:
        cut = f"events up to position {to_position}"
    elif cut_time is not None:
        cut = f"events recorded up to {cut_time}"
    else:
        cut = "every event"
    tenants = tuple((item.prefix, tenant) for item in sets for tenant in item.tenants)
    return RestoreReport(
        path=target,
        table_sets=sets,
        events_in_backup=in_backup,
        idempotency_records=kept_idempotency,
        cut=cut,
        tenants=tenants,
    )


def _check_boundary(src: sqlite3.Connection, prefix: str | None, position: int) -> None:
    """RecoveryInputError if ``position`` splits one transaction (one command's events).

    The events of one append share their record time and are numbered without a gap, so the
    event after the cut belongs to the same transaction when it has the same record time.
    """
    events = _tables(prefix).events
    rows = src.execute(
        f"SELECT position, recorded_at FROM {events} WHERE position IN (?, ?)",
        (position, position + 1),
    ).fetchall()
    if len(rows) < 2 or rows[0][1] != rows[1][1]:
        return
    same = rows[0][1]
    first, last = src.execute(
        f"SELECT MIN(position), MAX(position) FROM {events} WHERE recorded_at = ?", (same,)
    ).fetchone()
    raise RecoveryInputError(
        f"position {position} falls inside one transaction (positions {first}..{last}); "
        f"restore to position {first - 1} or {last} instead"
    )


def _replay(
    src: sqlite3.Connection,
    dst: sqlite3.Connection,
    prefix: str | None,
    to_position: int | None,
    cut_time: str | None,
) -> int:
    """Copy one table set's events and idempotency records from before the cut into ``dst``
    (whose tables exist). Returns the number of idempotency records kept."""
    tables = _tables(prefix)
    where, params = "", ()
    if to_position is not None:
        where, params = "WHERE position <= ?", (to_position,)
    elif cut_time is not None:
        where, params = "WHERE recorded_at <= ?", (cut_time,)
    rows = src.execute(
        f"SELECT {_EVENT_COLUMNS} FROM {tables.events} {where} ORDER BY position", params
    )
    insert = f"INSERT INTO {tables.events} ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    while batch := rows.fetchmany(_BATCH):
        try:
            dst.executemany(insert, batch)
        except sqlite3.IntegrityError as exc:
            raise RecoveryInputError(
                f"the backup's events up to the cut are not a whole history ({exc}); "
                "restore to a position instead of a time"
            ) from None
    # Idempotency records: those recorded before the first event past the cut (a time cut:
    # at or before the time). Without a cut, all of them.
    if to_position is not None:
        first_dropped = src.execute(
            f"SELECT recorded_at FROM {tables.events} WHERE position > ? ORDER BY position LIMIT 1",
            (to_position,),
        ).fetchone()
        if first_dropped is None:
            keep, keep_params = "", ()
        else:
            keep, keep_params = "WHERE recorded_at < ?", (first_dropped[0],)
    elif cut_time is not None:
        keep, keep_params = "WHERE recorded_at <= ?", (cut_time,)
    else:
        keep, keep_params = "", ()
    records = src.execute(
        f"SELECT tenant_id, key, command_hash, result, recorded_at FROM {tables.idempotency} "
        f"{keep}",
        keep_params,
    ).fetchall()
    dst.executemany(
        f"INSERT INTO {tables.idempotency} (tenant_id, key, command_hash, result, recorded_at) "
        "VALUES (?, ?, ?, ?, ?)",
        records,
    )
    return len(records)


def finish_restored(path: Path) -> None:
    """Leave a restored file self-contained (no WAL beside it) and checked."""
    with _connect(Path(path)) as db:
        _self_contained(db)
    _fsync(Path(path))


def replace_database(live: Path, restored: Path, keep_as: Path) -> Path | None:
    """Put ``restored`` in the place of ``live``, keeping a full copy of ``live`` at ``keep_as``.

    The copy is taken with the online backup API (so it includes what the WAL holds) before
    anything is removed; the live file's WAL and shared-memory files are removed so they are
    never applied to the restored file. Returns the copy's path (None if ``live`` did not exist).
    Other processes must not have ``live`` open.
    """
    live, restored = Path(live), Path(restored)
    kept: Path | None = None
    if live.exists():
        with _connect(live) as db, _connect(keep_as) as copy:
            db.backup(copy, pages=-1)
            _self_contained(copy)
        _fsync(keep_as)
        kept = keep_as
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{live}{suffix}").unlink()
    os.replace(restored, live)
    return kept
