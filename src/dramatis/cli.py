"""The ``dramatis`` command line: play, inspect and manage campaigns headless."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from dramatis import __version__
from dramatis.bootstrap import Dramatis, open_dramatis
from dramatis.config import Settings
from dramatis.domain.errors import DomainError
from dramatis.ports import (
    ConcurrencyError,
    IdempotencyConflict,
    MediaStoreError,
    StoreError,
    StreamNotFound,
)
from dramatis.services.control_plane import DEFAULT_STAGES, runbook_for
from dramatis.services.errors import ServiceError
from dramatis.services.views import CampaignView, ChronicleFormat

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2

BAD_INPUT_ERRORS: tuple[type[BaseException], ...] = (
    DomainError,
    ServiceError,
    StreamNotFound,
    IdempotencyConflict,
)


class BadInput(Exception):
    """Raised inside a command for input the user must fix; exits 2 with the message."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of a usage dump."""

    def error(self, message: str) -> NoReturn:
        message = _single_line(message)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps help text in one column beside command names (argparse wraps them otherwise)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)
        self._action_max_length = 24


def _formatter(prog: str) -> argparse.HelpFormatter:
    return _Formatter(prog)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used by the docs and tests)."""
    parser = _Parser(
        prog="dramatis",
        formatter_class=_formatter,
        description=(
            "Run AI persona campaigns in your terminal. Personas act turn by turn in a shared\n"
            "world; a director keeps the turn ledger and a chronicler writes it up as chapters.\n"
            "With no command, opens the terminal app."
        ),
        epilog=(
            "examples:\n"
            "  dramatis play salt-road --turns 30 --offline   play a sample campaign headless\n"
            "  dramatis campaigns                              list your campaigns\n"
            "  dramatis chronicle 3f9a --out salt-road.md      write a campaign's chronicle\n\n"
            "environment: DRAMATIS_DB, DRAMATIS_DATA_DIR, DRAMATIS_TENANT, GEMINI_API_KEY, ...\n"
            "(see docs/getting-started.md)"
        ),
    )
    parser.add_argument("--version", action="version", version=f"dramatis {__version__}")
    sub = parser.add_subparsers(
        dest="command", title="commands", metavar="COMMAND", parser_class=_Parser
    )

    def command(name: str, help_text: str, description: str = "") -> argparse.ArgumentParser:
        return sub.add_parser(
            name, help=help_text, description=description or help_text, formatter_class=_formatter
        )

    play = command(
        "play",
        "create a campaign from a file or sample and play it headless",
        "Create a campaign from a campaign file (TOML) or a sample's name, play it, write its\n"
        "chronicle, and print a summary.\n\nsamples: " + ", ".join(_sample_names()),
    )
    play.add_argument(
        "campaign", metavar="CAMPAIGN_FILE", help="a campaign .toml file or a sample name"
    )
    play.add_argument(
        "--turns", type=_positive_int, metavar="N", help="turns to play (default: the turn limit)"
    )
    play.add_argument(
        "--seed", type=int, metavar="S", help="seed for the dice and the offline policy"
    )
    play.add_argument(
        "--offline", action="store_true", help="every persona uses the offline policy"
    )
    play.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    campaigns = command("campaigns", "list campaigns")
    campaigns.add_argument("--json", action="store_true", help="print a JSON array")

    show = command("show", "show one campaign: status, personas, world, last turn")
    show.add_argument("campaign_id", metavar="CAMPAIGN_ID", help="id or a unique prefix of it")
    show.add_argument("--json", action="store_true", help="print a JSON object")

    advance = command("advance", "play more turns of a campaign")
    advance.add_argument("campaign_id", metavar="CAMPAIGN_ID", help="id or a unique prefix of it")
    advance.add_argument(
        "--turns", type=_positive_int, default=1, metavar="N", help="turns to play (default 1)"
    )
    advance.add_argument(
        "--offline", action="store_true", help="every persona uses the offline policy"
    )
    advance.add_argument("--json", action="store_true", help="print a JSON object")

    archive = command("archive", "archive a campaign (it takes no more turns)")
    archive.add_argument("campaign_id", metavar="CAMPAIGN_ID", help="id or a unique prefix of it")
    for keyed in (advance, archive):
        keyed.add_argument(
            "--idempotency-key",
            metavar="KEY",
            help="a repeat with the same KEY applies once and prints the same result",
        )
    _add_recovery_commands(command)

    chronicle = command(
        "chronicle",
        "write a campaign's chronicle (chapters are composed for turns not yet told)",
    )
    chronicle.add_argument("campaign_id", metavar="CAMPAIGN_ID", help="id or a unique prefix of it")
    chronicle.add_argument(
        "--format",
        choices=["md", "html", "json"],
        default=None,
        help="output format (default md; html when publishing)",
    )
    chronicle.add_argument(
        "--out", type=Path, metavar="PATH", help="write to PATH instead of stdout"
    )
    chronicle.add_argument(
        "--publish",
        action="store_true",
        help="finalize it and upload it to the media store (S3 or the data dir)",
    )

    media = command("media", "attach images, audio and maps to a chronicle")
    media_sub = media.add_subparsers(dest="media_command", metavar="ACTION", parser_class=_Parser)
    attach = media_sub.add_parser(
        "attach", help="upload a file and attach it, with its accessibility text"
    )
    attach.add_argument("campaign_id", metavar="CAMPAIGN_ID", help="id or a unique prefix of it")
    attach.add_argument("path", type=Path, metavar="FILE", help="PNG/JPEG/GIF/WebP/SVG, audio, PDF")
    attach.add_argument(
        "--alt", required=True, metavar="TEXT", help="what it shows (or sounds like), for all"
    )
    attach.add_argument(
        "--chapter", type=_positive_int, metavar="N", help="the chapter it illustrates"
    )
    media_list = media_sub.add_parser("list", help="list a chronicle's media")
    media_list.add_argument(
        "campaign_id", metavar="CAMPAIGN_ID", help="id or a unique prefix of it"
    )
    media_list.add_argument("--json", action="store_true", help="print a JSON array")

    fork = command(
        "fork",
        "fork a campaign at a turn: a new campaign that shares its history up to that turn",
    )
    fork.add_argument("campaign_id", metavar="CAMPAIGN_ID", help="id or a unique prefix of it")
    fork.add_argument(
        "--at-turn", type=_turn_number, required=True, metavar="N", help="the turn to fork after"
    )
    fork.add_argument("--name", help="the fork's name (default: '<name> (fork at turn N)')")
    fork.add_argument("--seed", type=int, metavar="S", help="a new seed for the fork's turns")
    fork.add_argument("--json", action="store_true", help="print a JSON object")

    replay = command(
        "replay",
        "replay a campaign from its creation events and check every turn's state hash",
    )
    replay.add_argument("campaign_id", metavar="CAMPAIGN_ID", help="id or a unique prefix of it")
    replay.add_argument(
        "--verify", action="store_true", help="exit 1 when a turn diverges from its record"
    )
    replay.add_argument("--json", action="store_true", help="print a JSON object")

    personas = command("personas", "manage character sheets")
    persona_sub = personas.add_subparsers(
        dest="personas_command", metavar="ACTION", parser_class=_Parser
    )
    imp = persona_sub.add_parser(
        "import",
        help="import a character sheet (TOML, markdown sheet or Character Card V2 JSON)",
        description="Import a character sheet into your persona library.",
    )
    imp.add_argument("path", type=Path, metavar="PATH")
    imp.add_argument("--json", action="store_true", help="print a JSON object")
    plist = persona_sub.add_parser("list", help="list imported personas")
    plist.add_argument("--json", action="store_true", help="print a JSON array")
    _add_control_plane_commands(command)
    _add_serve_ssh_command(command)
    return parser


def _add_control_plane_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    flags = command(
        "flags",
        "list feature flags or move one to a rollout stage (operators only)",
        "List the feature flags, or set one to a rollout stage: off, internal, percent:N (of\n"
        "campaigns) or on. Every change names its owner and a rollback plan. Only the operator\n"
        "role (DRAMATIS_ROLE) may change flags.",
    )
    flags_sub = flags.add_subparsers(dest="flags_command", metavar="ACTION", parser_class=_Parser)
    flist = flags_sub.add_parser("list", help="list flags with stage, owner and rollback plan")
    flist.add_argument("--json", action="store_true", help="print a JSON array")
    fset = flags_sub.add_parser("set", help="move a flag to a rollout stage")
    fset.add_argument("name", metavar="NAME", help="flag name, e.g. gemini.personas")
    fset.add_argument("--stage", required=True, metavar="S", help="off, internal, percent:N, on")
    fset.add_argument("--owner", required=True, metavar="O", help="the person accountable")
    fset.add_argument(
        "--rollback-plan", required=True, metavar="TEXT", help="how to undo the change"
    )
    fset.add_argument("--reason", default="", metavar="R", help="why the flag changes")
    slo = command("slo", "show the SLOs: objective, current value and breaches")
    slo.add_argument("--json", action="store_true", help="print a JSON array")


def _add_serve_ssh_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    serve = command(
        "serve-ssh",
        "host shared play over SSH: each player connects with a plain ssh client",
        "Listen for SSH clients and give each terminal session its own dramatis app. Players\n"
        "log in with a public key listed in the authorized-keys file, whose environment=\n"
        "options name the player, tenant and role. See docs/ssh.md.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument(
        "--port", type=_port, default=2222, metavar="PORT", help="port (2222; 0 picks one)"
    )
    serve.add_argument(
        "--authorized-keys",
        type=Path,
        metavar="FILE",
        help="the players' keys (default <data_dir>/authorized_keys)",
    )
    serve.add_argument(
        "--max-sessions", type=_positive_int, default=20, metavar="N", help="sessions at once (20)"
    )
    serve.add_argument(
        "--idle-timeout",
        type=_non_negative_float,
        default=1800.0,
        metavar="SECONDS",
        help="close a session after this long without input (1800; 0: never)",
    )
    serve.add_argument(
        "--rate-limit",
        type=_positive_float,
        default=60.0,
        metavar="KEYS_PER_SECOND",
        help="input keys per second per session, burst 200 at 60 (60)",
    )


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0-65535)")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _turn_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is not a turn; turns are 0 or more")
    return value


def _sample_names() -> list[str]:
    from dramatis.sheets.campaign_loader import list_samples

    return [sample.name for sample in list_samples()]


# ------------------------------------------------------------------ output helpers


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _campaign_lines(view: CampaignView) -> list[str]:
    limit = f"/{view.turn_limit}" if view.turn_limit else ""
    lines = [
        f"{view.name}  [{view.status}]  turn {view.turns}{limit}  seed {view.seed}",
        f"  id {view.campaign_id}",
    ]
    if view.description:
        lines.append(f"  {view.description}")
    lines.append("  personas:")
    for persona in view.personas:
        where = f"  at {persona.location}" if persona.location else ""
        lines.append(f"    {persona.name:<22} {persona.brain:<8}{where}")
    if view.tension is not None:
        lines.append(f"  tension {view.tension:.2f}")
    if view.completion_reason:
        lines.append(f"  ended: {view.completion_reason}")
    return lines


# ------------------------------------------------------------------ commands


async def _cmd_play(app: Dramatis, args: argparse.Namespace) -> int:
    from dramatis.sheets.campaign_loader import load_campaign_file, resolve_campaign

    loaded = load_campaign_file(resolve_campaign(args.campaign))
    show_progress = not args.json and sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show_progress:
            print(f"\r  playing turn {done}/{total}", end="", file=sys.stderr, flush=True)

    result = await app.campaigns.play(
        loaded, turns=args.turns, seed=args.seed, offline=args.offline, progress=progress
    )
    if show_progress:
        print(file=sys.stderr)
    chronicle_path = await app.chronicles.export_default(result.view.campaign_id)
    if args.json:
        data = result.view.to_json()
        data["chronicle_path"] = str(chronicle_path)
        data["ledger"] = [
            ledger.model_dump(mode="json", exclude={"timestamp", "duration_seconds"})
            for ledger in result.ledgers
        ]
        data["warnings"] = list(loaded.warnings)
        data["notices"] = list(result.notices)
        _print_json(data)
        return EXIT_OK
    for warning in (*loaded.warnings, *result.notices):
        print(f"note: {warning}", file=sys.stderr)
    print("\n".join(_campaign_lines(result.view)))
    print()
    for ledger in result.ledgers[-3:]:
        print(f"  turn {ledger.turn_number}:")
        for entry in ledger.action_log:
            target = f" -> {entry.target_name}" if entry.target_name else ""
            print(f"    {entry.persona_name}: {entry.action.value}{target} ({entry.outcome})")
    print()
    print(f"Chronicle: {chronicle_path}")
    short_id = result.view.campaign_id[:8]
    print(f"Next: dramatis advance {short_id}  ·  dramatis show {short_id}")
    return EXIT_OK


async def _cmd_campaigns(app: Dramatis, args: argparse.Namespace) -> int:
    summaries = await app.campaigns.list_campaigns()
    if args.json:
        _print_json([s.to_json() for s in summaries])
        return EXIT_OK
    if not summaries:
        print("No campaigns yet. Start one: dramatis play salt-road --offline")
        return EXIT_OK
    print(f"{'ID':<10}{'NAME':<28}{'STATUS':<10}{'TURNS':>9}  PERSONAS  UPDATED")
    for s in summaries:
        limit = f"/{s.turn_limit}" if s.turn_limit else ""
        turns = f"{s.turns}{limit}"
        print(
            f"{s.campaign_id[:8]:<10}{s.name[:27]:<28}{s.status:<10}{turns:>9}"
            f"  {s.persona_count:>8}  {s.updated_at[:16]}"
        )
    return EXIT_OK


async def _cmd_show(app: Dramatis, args: argparse.Namespace) -> int:
    view = await app.campaigns.show(args.campaign_id, with_stats=args.json)
    if args.json:
        _print_json(view.to_json())
        return EXIT_OK
    print("\n".join(_campaign_lines(view)))
    if view.last_turn:
        print(f"  last turn ({view.last_turn.turn_number}):")
        for entry in view.last_turn.action_log:
            target = f" -> {entry.target_name}" if entry.target_name else ""
            print(
                f"    {entry.persona_name}: {entry.action.value}{target}"
                f" ({entry.outcome}) {entry.consequence}"
            )
    return EXIT_OK


async def _cmd_advance(app: Dramatis, args: argparse.Namespace) -> int:
    result = await app.campaigns.advance(
        args.campaign_id,
        turns=args.turns,
        offline=args.offline,
        idempotency_key=args.idempotency_key,
    )
    if args.json:
        data = result.view.to_json()
        data["played"] = [ledger.turn_number for ledger in result.ledgers]
        data["lost_races"] = result.lost_races
        data["notices"] = list(result.notices)
        _print_json(data)
        return EXIT_OK
    for notice in result.notices:
        print(f"note: {notice}", file=sys.stderr)
    played = len(result.ledgers)
    print(f"Played {played} turn{'s' if played != 1 else ''}.")
    print("\n".join(_campaign_lines(result.view)))
    return EXIT_OK


async def _cmd_archive(app: Dramatis, args: argparse.Namespace) -> int:
    view = await app.campaigns.archive(args.campaign_id, idempotency_key=args.idempotency_key)
    print(f"Archived {view.name} ({view.campaign_id[:8]}) at turn {view.turns}.")
    return EXIT_OK


async def _cmd_chronicle(app: Dramatis, args: argparse.Namespace) -> int:
    fmt: ChronicleFormat = args.format or ("html" if args.publish else "md")
    if args.publish:
        result = await app.publishing.publish(args.campaign_id, fmt)
        if args.out is not None:
            _copy_file(Path(result.local_path), args.out)
        print(f"Published {result.chapter_count} chapters ({fmt}) to {result.destination}")
        print(f"  local copy: {args.out or result.local_path}")
        return EXIT_OK
    text = await app.publishing.export(args.campaign_id, fmt)
    if args.out is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"Chronicle written to {args.out}")
    return EXIT_OK


def _copy_file(source: Path, target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
    except OSError as exc:
        raise BadInput(f"cannot write {target}: {exc.strerror}") from None


async def _cmd_media(app: Dramatis, args: argparse.Namespace) -> int:
    if args.media_command == "attach":
        asset = await app.publishing.attach(args.campaign_id, args.path, args.alt, args.chapter)
        where = f"chapter {asset.chapter}" if asset.chapter else "the whole chronicle"
        print(f"Attached {args.path.name} ({asset.media_type}) to {where}: {asset.storage_url}")
        print(f"  sha256 {asset.checksum}")
        return EXIT_OK
    if args.media_command == "list":
        chronicle = await app.chronicles.load(await app.campaigns.resolve_id(args.campaign_id))
        if args.json:
            _print_json([asset.model_dump(mode="json") for asset in chronicle.media])
        elif not chronicle.media:
            print("No media attached. Attach one: dramatis media attach ID FILE --alt TEXT")
        else:
            for asset in chronicle.media:
                where = f"ch {asset.chapter}" if asset.chapter else "all "
                print(f"{where:<5} {asset.media_type:<14} {asset.storage_url}")
                print(f"      {asset.accessibility_text}")
        return EXIT_OK
    raise BadInput("media needs an action: attach or list (see dramatis media --help)")


async def _cmd_personas(app: Dramatis, args: argparse.Namespace) -> int:
    if args.personas_command == "import":
        view, warnings = await app.personas.import_sheet(args.path)
        if args.json:
            data = view.to_json()
            data["warnings"] = warnings
            _print_json(data)
            return EXIT_OK
        for warning in warnings:
            print(f"note: {warning}", file=sys.stderr)
        print(f"Imported {view.name} ({view.source_format}) as persona {view.persona_id}")
        print(f"  sheet sha256 {view.sheet_hash}")
        return EXIT_OK
    if args.personas_command == "list":
        personas = await app.personas.list_personas()
        if args.json:
            _print_json([p.to_json() for p in personas])
        elif not personas:
            print("No personas imported yet. Import one: dramatis personas import PATH")
        else:
            for p in personas:
                print(f"{p.persona_id[:8]}  {p.name:<24} {p.source_format:<9} {p.sheet_hash[:12]}")
        return EXIT_OK
    raise BadInput("personas needs an action: import PATH or list (see dramatis personas --help)")


# ------------------------------------------------------------------ backup and restore


def _add_recovery_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    backup = command(
        "backup",
        "copy the database to a backup file (online: play may go on)",
        "Copy the whole database (every tenant) to PATH with SQLite's online backup: the copy\n"
        "is one consistent moment, and other dramatis processes keep playing meanwhile.",
    )
    backup.add_argument("path", type=Path, metavar="PATH", help="the backup file to write")
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")
    backup.add_argument("--json", action="store_true", help="print a JSON object")
    restore = command(
        "restore",
        "rebuild the database from a backup, optionally up to a point in time",
        "Build a new database from the backup's event log, up to a position or a time, and\n"
        "rebuild its snapshots. Without --into it replaces the current database (DRAMATIS_DB),\n"
        "after copying it to <db>.before-restore-<time>: nothing is destroyed. Stop other\n"
        "dramatis processes using the database first. See docs/recovery.md.",
    )
    restore.add_argument("path", type=Path, metavar="PATH", help="a file made by dramatis backup")
    cut = restore.add_mutually_exclusive_group()
    cut.add_argument(
        "--to-position",
        type=_natural_int,
        metavar="N",
        help="keep events up to global position N (a transaction boundary)",
    )
    cut.add_argument(
        "--to-time",
        metavar="ISO",
        help="keep events recorded at or before this time (ISO 8601; no offset means UTC)",
    )
    restore.add_argument(
        "--into",
        type=Path,
        metavar="DB",
        help="write a new database file DB and leave the current one alone",
    )
    restore.add_argument("--json", action="store_true", help="print a JSON object")
    migrate = command(
        "migrate-store",
        "copy a SQLite database into PostgreSQL and verify the copy",
        "Copy every tenant and table prefix of a SQLite database into a PostgreSQL server:\n"
        "events in global order with their versions, metadata and record times, snapshots and\n"
        "idempotency records. The copy is one transaction, then it is verified stream by stream\n"
        "(event counts and sha256). Tables go to the schema DRAMATIS_POSTGRES_SCHEMA (default\n"
        "dramatis; a table prefix P to dramatis_P). The target must not hold data of the\n"
        "tenants being copied. Afterwards set DRAMATIS_DB to the DSN.",
    )
    migrate.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        metavar="SQLITE_PATH",
        help="the SQLite database file to copy",
    )
    migrate.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="DSN",
        help="postgresql://user@host:5432/db",
    )
    migrate.add_argument("--json", action="store_true", help="print a JSON object")


def _natural_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


async def _cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from dramatis.bootstrap import backup_database

    report = await backup_database(settings, args.path, overwrite=args.force)
    if args.json:
        _print_json(
            {
                "path": str(report.path),
                "bytes": report.bytes,
                "events": report.events,
                "last_position": report.last_position,
            }
        )
        return EXIT_OK
    print(
        f"Backed up {report.events} events (up to position {report.last_position}) "
        f"to {report.path} ({report.bytes} bytes)"
    )
    return EXIT_OK


async def _cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from dramatis.bootstrap import restore_database

    report = await restore_database(
        settings,
        args.path,
        to_position=args.to_position,
        to_time=args.to_time,
        into=args.into,
    )
    if args.json:
        _print_json(
            {
                "path": str(report.path),
                "events": report.events,
                "events_in_backup": report.events_in_backup,
                "last_position": report.last_position,
                "snapshots": report.snapshots,
                "idempotency_records": report.idempotency_records,
                "kept_copy": str(report.kept_copy) if report.kept_copy else None,
            }
        )
        return EXIT_OK
    print(
        f"Restored {report.events} of {report.events_in_backup} events ({report.cut}) "
        f"into {report.path}; {report.snapshots} snapshots rebuilt"
    )
    if report.kept_copy is not None:
        print(f"The previous database was kept as {report.kept_copy}")
    return EXIT_OK


async def _cmd_migrate_store(settings: Settings, args: argparse.Namespace) -> int:
    from dramatis.bootstrap import migrate_store

    interactive = sys.stderr.isatty()
    shown = [0]

    def progress(done: int, total: int) -> None:
        if interactive:
            print(f"\r  copied {done}/{total} events", end="", file=sys.stderr, flush=True)
        elif done - shown[0] >= 10_000 or done == total:
            shown[0] = done
            print(f"copied {done}/{total} events", file=sys.stderr, flush=True)

    report = await migrate_store(settings, args.source, args.target, progress=progress)
    if interactive and report.events:
        print(file=sys.stderr)
    if args.json:
        _print_json(
            {
                "source": str(report.source),
                "target": report.target,
                "schemas": [item.schema for item in report.sets],
                "tenants": report.tenants,
                "streams": report.streams,
                "events": report.events,
                "snapshots": sum(item.snapshots for item in report.sets),
                "idempotency_records": sum(item.idempotency_records for item in report.sets),
                "verified": report.verified,
                "mismatches": list(report.mismatches),
            }
        )
    else:
        for item in report.sets:
            print(
                f"{item.schema}: {len(item.tenants)} tenants, {item.streams} streams, "
                f"{item.events} events, {item.snapshots} snapshots, "
                f"{item.idempotency_records} idempotency records"
            )
        verdict = "verified" if report.verified else "NOT verified"
        print(
            f"Copied {report.events} events in {report.streams} streams from {report.source} "
            f"to {report.target}: {verdict}"
        )
    if not report.verified:
        for mismatch in report.mismatches[:10]:
            print(f"dramatis: mismatch: {mismatch}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


RECOVERY_COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], Awaitable[int]]] = {
    "backup": _cmd_backup,
    "restore": _cmd_restore,
    "migrate-store": _cmd_migrate_store,
}


async def _cmd_fork(app: Dramatis, args: argparse.Namespace) -> int:
    from dramatis.services.timetravel import TimeTravelService

    view = await TimeTravelService(app.campaigns).fork_campaign(
        args.campaign_id, args.at_turn, name=args.name, seed=args.seed
    )
    if args.json:
        data = view.to_json()
        data["forked_at_turn"] = args.at_turn
        _print_json(data)
        return EXIT_OK
    print(f"Forked at turn {args.at_turn} as {view.name} ({view.campaign_id[:8]}).")
    print("\n".join(_campaign_lines(view)))
    print(f"Next: dramatis advance {view.campaign_id[:8]}")
    return EXIT_OK


async def _cmd_replay(app: Dramatis, args: argparse.Namespace) -> int:
    from dramatis.services.timetravel import TimeTravelService

    report = await TimeTravelService(app.campaigns).replay(args.campaign_id)
    failed = args.verify and not report.verified
    if args.json:
        _print_json(report.to_json())
    elif report.verified:
        print(f"Replayed {report.replayed} turns of {report.campaign_id[:8]}: every state hash")
        print(f"matches. Final state {report.final_hash}.")
    else:
        print(
            f"Diverged at turn {report.divergent_turn} "
            f"(campaign {(report.campaign_of_divergence or '')[:8]}): {report.reason}",
            file=sys.stderr if failed else sys.stdout,
        )
        print(f"Replayed {report.replayed} of {report.turns} turns before it.")
    if report.unrecorded_turns and not args.json:
        count = len(report.unrecorded_turns)
        print(
            f"note: {count} turn{'s' if count != 1 else ''} recorded no state hash (an older "
            "version); they were checked against their stored world instead",
            file=sys.stderr,
        )
    return EXIT_FAILURE if failed else EXIT_OK


async def _cmd_flags(app: Dramatis, args: argparse.Namespace) -> int:
    if args.flags_command == "set":
        plane = await app.control_plane.toggle_flag(
            args.name,
            args.stage,
            owner=args.owner,
            rollback_plan=args.rollback_plan,
            reason=args.reason,
        )
        flag = plane.flags[args.name.strip()]
        print(f"{flag.name} is now {flag.stage} (owner {flag.owner})")
        print(f"  rollback: {flag.rollback_plan}")
        return EXIT_OK
    view = await app.control_plane.flags()
    plane = await app.control_plane.load()
    names = sorted({*DEFAULT_STAGES, *plane.flags})
    rows = []
    for name in names:
        flag = plane.flags.get(name)
        rows.append(
            {
                "name": name,
                "stage": view.stage(name),
                "owner": flag.owner if flag else "",
                "rollback_plan": flag.rollback_plan if flag else "",
                "updated_at": flag.updated_at if flag else None,
                "runbook": runbook_for(name),
            }
        )
    if getattr(args, "json", False):
        _print_json(rows)
        return EXIT_OK
    for row in rows:
        owner = row["owner"] or "(default)"
        print(f"{row['name']:<18} {row['stage']:<11} {owner:<12} {row['rollback_plan']}")
    return EXIT_OK


async def _cmd_slo(app: Dramatis, args: argparse.Namespace) -> int:
    plane = await app.control_plane.load()
    rows = []
    for slo, status in app.control_plane.catalogue(plane):
        last = status.last if status is not None else None
        rows.append(
            {
                "name": slo.name,
                "objective": f"{slo.comparator} {slo.objective:g} {slo.unit}",
                "current": last.value if last is not None else None,
                "breached": last.breached if last is not None else False,
                "breaches": status.breach_count if status is not None else 0,
                "readings": status.reading_count if status is not None else 0,
                "measurement_source": slo.measurement_source,
                "runbook": runbook_for(slo.name),
            }
        )
    if args.json:
        _print_json(rows)
        return EXIT_OK
    print(f"{'SLO':<16} {'objective':<16} {'current':<14} breaches")
    for row in rows:
        unit = row["objective"].rsplit(" ", 1)[-1]
        current = "not measured" if row["current"] is None else f"{row['current']:.4g} {unit}"
        mark = "  BREACHED" if row["breached"] else ""
        print(f"{row['name']:<16} {row['objective']:<16} {current:<14} {row['breaches']}{mark}")
    return EXIT_OK


COMMANDS: dict[str, Callable[[Dramatis, argparse.Namespace], Awaitable[int]]] = {
    "flags": _cmd_flags,
    "slo": _cmd_slo,
    "play": _cmd_play,
    "campaigns": _cmd_campaigns,
    "show": _cmd_show,
    "advance": _cmd_advance,
    "archive": _cmd_archive,
    "chronicle": _cmd_chronicle,
    "media": _cmd_media,
    "personas": _cmd_personas,
    "fork": _cmd_fork,
    "replay": _cmd_replay,
}


async def _cmd_serve_ssh(settings: Settings, args: argparse.Namespace) -> int:
    from dramatis.ssh.serve import serve, session_settings

    limits = session_settings(
        max_sessions=args.max_sessions, idle_timeout=args.idle_timeout, rate_limit=args.rate_limit
    )
    return await serve(
        settings,
        host=args.host,
        port=args.port,
        authorized_keys=args.authorized_keys,
        limits=limits,
    )


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve-ssh":  # a server: each session opens the services itself
        return await _cmd_serve_ssh(settings, args)
    if args.command in RECOVERY_COMMANDS:  # they work on the database file, not the services
        return await RECOVERY_COMMANDS[args.command](settings, args)
    async with open_dramatis(settings) as app:
        return await COMMANDS[args.command](app, args)


def _single_line(text: str) -> str:
    """``text`` with line breaks shown as escapes, so a message stays one line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _fail(code: int, message: str) -> int:
    print(f"dramatis: {_single_line(message)}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dramatis`` console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error already printed
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    if args.command is None:
        from dramatis.tui.launch import launch_tui

        return launch_tui()
    try:
        settings = Settings()
    except Exception as exc:  # pydantic ValidationError: a bad DRAMATIS_* variable
        return _fail(EXIT_BAD_INPUT, f"bad configuration: {_first_line(exc)}")
    try:
        return asyncio.run(_run(args, settings))
    except (BadInput, *BAD_INPUT_ERRORS) as exc:
        return _fail(EXIT_BAD_INPUT, str(exc))
    except ConcurrencyError as exc:
        return _fail(EXIT_FAILURE, f"{exc} (another process changed it; try again)")
    except StoreError as exc:
        return _fail(EXIT_FAILURE, str(exc))
    except MediaStoreError as exc:
        return _fail(EXIT_FAILURE, str(exc))
    except KeyboardInterrupt:
        return _fail(130, "interrupted; every completed turn is saved")


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(lines[1:3]) if len(lines) > 1 else (lines[0] if lines else type(exc).__name__)


if __name__ == "__main__":
    raise SystemExit(main())
