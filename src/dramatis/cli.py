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
from dramatis.ports import ConcurrencyError, IdempotencyConflict, StoreError, StreamNotFound
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

    chronicle = command(
        "chronicle",
        "write a campaign's chronicle (chapters are composed for turns not yet told)",
    )
    chronicle.add_argument("campaign_id", metavar="CAMPAIGN_ID", help="id or a unique prefix of it")
    chronicle.add_argument(
        "--format", choices=["md", "json"], default="md", help="output format (default md)"
    )
    chronicle.add_argument(
        "--out", type=Path, metavar="PATH", help="write to PATH instead of stdout"
    )

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
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
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
        _print_json(data)
        return EXIT_OK
    for warning in loaded.warnings:
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
    view = await app.campaigns.show(args.campaign_id)
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
    result = await app.campaigns.advance(args.campaign_id, turns=args.turns, offline=args.offline)
    if args.json:
        data = result.view.to_json()
        data["played"] = [ledger.turn_number for ledger in result.ledgers]
        _print_json(data)
        return EXIT_OK
    played = len(result.ledgers)
    print(f"Played {played} turn{'s' if played != 1 else ''}.")
    print("\n".join(_campaign_lines(result.view)))
    return EXIT_OK


async def _cmd_archive(app: Dramatis, args: argparse.Namespace) -> int:
    view = await app.campaigns.archive(args.campaign_id)
    print(f"Archived {view.name} ({view.campaign_id[:8]}) at turn {view.turns}.")
    return EXIT_OK


async def _cmd_chronicle(app: Dramatis, args: argparse.Namespace) -> int:
    fmt: ChronicleFormat = args.format
    text = await app.chronicles.render(args.campaign_id, fmt)
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


COMMANDS: dict[str, Callable[[Dramatis, argparse.Namespace], Awaitable[int]]] = {
    "play": _cmd_play,
    "campaigns": _cmd_campaigns,
    "show": _cmd_show,
    "advance": _cmd_advance,
    "archive": _cmd_archive,
    "chronicle": _cmd_chronicle,
    "personas": _cmd_personas,
}


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    async with open_dramatis(settings) as app:
        return await COMMANDS[args.command](app, args)


def _fail(code: int, message: str) -> int:
    print(f"dramatis: {message}", file=sys.stderr)
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
    except KeyboardInterrupt:
        return _fail(130, "interrupted; every completed turn is saved")


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(lines[1:3]) if len(lines) > 1 else (lines[0] if lines else type(exc).__name__)


if __name__ == "__main__":
    raise SystemExit(main())
