"""Shared play over SSH under load: N concurrent sessions, each auto-playing, for S seconds.

Starts a real ``dramatis serve-ssh`` (SQLite in a temp dir, or ``--db postgresql://...`` in a
fresh schema dropped afterwards) with one key per session, each key in its own tenant holding
one pre-made endless campaign ("Load 07", turn limit 100,000). Every session is an asyncssh
client on a 120x36 terminal read through a pyte screen: it opens its campaign, starts
auto-play (p, 10000, enter) and is left to play. Once every session is playing, the run is
measured for S seconds:

- turns per second: TurnAdvanced events recorded (all tenants) in the window;
- screen update latency: for each turn recorded in the window, from its ``recorded_at`` (stamped
  in the append, just before the commit) to the first moment the session's screen shows that
  turn number in its top bar (client-side ``time.time()`` when the bytes were read);
- memory per session: RSS and PSS of each app process (the server's children), sampled;
- errors: failed or dropped connections, app processes that died, error text on a screen,
  server log lines about errors or disconnects; sessions that stall are listed too;
- CPU: cores used by the apps, the server and this client, machine load.

The server (and so every app) runs at nice 10: on a small machine the apps take every cycle,
and this client, whose clock stamps the screens, must not queue behind them.

    python bench/ssh_load.py [--sessions 20] [--seconds 60] [--db postgresql://...] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncssh
import pyte

from dramatis.bootstrap import open_dramatis
from dramatis.config import Settings
from dramatis.sheets.campaign_loader import LoadedCampaign, find_sample, load_campaign_file

SAMPLES = ("salt-road", "skerry-light", "glass-orchard")
COLUMNS, ROWS = 120, 36
AUTOPLAY_COUNT = 10_000  # the most the auto-play modal accepts
TURN_LIMIT = 100_000
TARGET_LATENCY = 1.0  # seconds
OBSERVER_INTERVAL = 0.02  # seconds between store polls
SAMPLE_INTERVAL = 2.0  # seconds between memory samples and screen scans
STARTUP_DEADLINE = 240.0  # seconds for every session to be auto-playing
STALL_SECONDS = 5.0  # no new turn on screen for this long (and 3x its usual gap): a stall
TURN_BAR = re.compile(r"turn (\d+) of \d")
# Notification titles and what a crash prints (not "could not", which the story itself says).
ERROR_TEXT = re.compile(
    r"Traceback|Exception|Error\b|\berror:|The turn was not played|Could not (?:load|start)"
)
TURN_BYTES = re.compile(rb"turn (\d+) of \d")
ERROR_BYTES = re.compile(ERROR_TEXT.pattern.encode())
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|[\x00-\x1f]")
RECENT_BYTES = 256 * 1024  # of each session's output, to redraw its screen for a report
SERVER_NICE = 10  # the server and its apps yield the CPU to this client, whose clock it is
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ campaigns and keys


def endless(sample: str, name: str) -> LoadedCampaign:
    """The sample, renamed, without its story-ending events: it plays until its turn limit."""
    loaded = load_campaign_file(find_sample(sample))
    world = loaded.campaign.world
    events = tuple(
        event.model_copy(update={"effect": event.effect.model_copy(update={"complete": False})})
        for event in world.events
    )
    campaign = loaded.campaign.model_copy(
        update={"name": name, "world": world.model_copy(update={"events": events})}
    )
    return dataclasses.replace(loaded, campaign=campaign)


@dataclasses.dataclass
class Target:
    """Where the server keeps its data."""

    data_dir: Path
    db: str  # SQLite path or postgresql:// DSN
    schema: str | None  # PostgreSQL schema (None for SQLite)
    pace: float | None = None  # seconds between auto-played turns; None: the app's default

    def settings(self, tenant: str) -> Settings:
        extra: dict[str, Any] = {"postgres_schema": self.schema} if self.schema else {}
        return Settings(data_dir=self.data_dir, db=self.db, tenant=tenant, **extra)

    def environment(self) -> dict[str, str]:
        """The server's environment: ours without any DRAMATIS_/model settings, plus the store."""
        skip = ("DRAMATIS_", "GEMINI_", "OPENAI_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
        env.update(
            DRAMATIS_DATA_DIR=str(self.data_dir),
            DRAMATIS_DB=self.db,
            DRAMATIS_CONFIG=str(self.data_dir / "no-config.toml"),
        )
        if self.schema:
            env["DRAMATIS_POSTGRES_SCHEMA"] = self.schema
        if self.pace is not None:
            env["DRAMATIS_AUTOPLAY_PACE_SECONDS"] = str(self.pace)
        return env


def tenant_of(index: int) -> str:
    return f"load{index:02d}"


async def create_campaigns(target: Target, sessions: int) -> None:
    """One started endless campaign per session, each in the session's own tenant."""
    for index in range(sessions):
        loaded = endless(SAMPLES[index % len(SAMPLES)], f"Load {index:02d}")
        async with open_dramatis(target.settings(tenant_of(index))) as app:
            view = await app.campaigns.create(
                loaded, seed=index, turn_limit=TURN_LIMIT, offline=True
            )
            await app.campaigns.start(view.campaign_id)


def make_keys(sessions: int, path: Path) -> list[asyncssh.SSHKey]:
    """A key per session, written to the authorized-keys file as a player in its own tenant."""
    keys, lines = [], []
    for index in range(sessions):
        key = asyncssh.generate_private_key("ssh-ed25519", comment=f"load{index:02d}@bench")
        public = key.export_public_key("openssh").decode().strip()
        options = {
            "DRAMATIS_PLAYER": f"bench{index:02d}",
            "DRAMATIS_TENANT": tenant_of(index),
            "DRAMATIS_ROLE": "player",
        }
        env = ",".join(f'environment="{name}={value}"' for name, value in options.items())
        lines.append(f"{env} {public}")
        keys.append(key)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return keys


# ------------------------------------------------------------------ the store, observed


def epoch(recorded_at: str) -> float:
    return datetime.fromisoformat(recorded_at).timestamp()


def turn_query(target: Target) -> tuple[Callable[[], Any], Callable[[Any, int], list[Any]]]:
    """(connect, fetch(conn, after_position)): TurnAdvanced rows of every tenant."""
    if target.schema is None:
        uri = f"file:{target.db}?mode=ro"
        sql = (
            "SELECT position, tenant_id, json_extract(payload, '$.ledger.turn_number'), "
            "recorded_at FROM events WHERE position > ? AND event_type = 'TurnAdvanced' "
            "ORDER BY position"
        )

        def connect_sqlite() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, check_same_thread=False)

        def fetch_sqlite(conn: sqlite3.Connection, after: int) -> list[Any]:
            return conn.execute(sql, (after,)).fetchall()

        return connect_sqlite, fetch_sqlite

    import psycopg

    pg_sql = (
        "SELECT position, tenant_id, (payload::jsonb -> 'ledger' ->> 'turn_number')::int, "
        f"recorded_at FROM {target.schema}.events "
        "WHERE position > %s AND event_type = 'TurnAdvanced' ORDER BY position"
    )

    def connect_pg() -> Any:
        return psycopg.connect(target.db, autocommit=True)

    def fetch_pg(conn: Any, after: int) -> list[Any]:
        return conn.execute(pg_sql, (after,)).fetchall()

    return connect_pg, fetch_pg


class Observer(threading.Thread):
    """Polls the store for new turns; (tenant, turn) -> (recorded_at, first seen), epoch s."""

    def __init__(self, target: Target, interval: float) -> None:
        super().__init__(name="store-observer", daemon=True)
        self.connect, self.fetch = turn_query(target)
        self.interval = interval
        self.turns: dict[tuple[str, int], tuple[float, float]] = {}
        self.poll_ms: list[float] = []
        self.error: BaseException | None = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            conn = self.connect()
            try:
                last = 0
                while not self._stop_event.is_set():
                    started = time.perf_counter()
                    rows = self.fetch(conn, last)
                    now = time.time()
                    self.poll_ms.append((time.perf_counter() - started) * 1000)
                    for position, tenant, turn, recorded_at in rows:
                        last = max(last, position)
                        self.turns.setdefault((tenant, int(turn)), (epoch(recorded_at), now))
                    self._stop_event.wait(self.interval)
            finally:
                conn.close()
        except BaseException as exc:  # reported, never raised in the thread
            self.error = exc

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


# ------------------------------------------------------------------ one SSH session


class Session:
    """An asyncssh client on a pyte screen, playing one campaign."""

    def __init__(self, index: int, key: asyncssh.SSHKey) -> None:
        self.index = index
        self.tenant = tenant_of(index)
        self.key = key
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.conn: asyncssh.SSHClientConnection | None = None
        self.process: asyncssh.SSHClientProcess[bytes] | None = None
        self.reader: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()
        self.shown: dict[int, float] = {}  # turn -> first time.time() its number was on screen
        self.turn = -1  # the turn number in the top bar (-1: not on the Play screen)
        self.started_turn = -1  # the turn on screen when auto-play was started
        self.closed = False
        self.closing = False  # we are closing it (not an error)
        self.errors: list[str] = []
        self.error_screens: dict[str, str] = {}
        self.bytes_in = 0
        self.raw_mode = False  # pyte until the Play screen shows, then raw bytes (see _read_raw)
        self.tail = b""
        self.recent = b""

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def _top_line(self) -> str:
        row = self.screen.buffer[0]
        return "".join(row[x].data for x in range(COLUMNS))

    async def connect(self, port: int) -> None:
        self.conn = await asyncssh.connect(
            "127.0.0.1",
            port,
            username="bench",
            client_keys=[self.key],
            known_hosts=None,
            agent_path=None,
            config=None,
            keepalive_interval=0,
        )
        self.process = await self.conn.create_process(
            term_type="xterm-256color", term_size=(COLUMNS, ROWS), encoding=None
        )
        self.reader = asyncio.create_task(self._read(), name=f"read-{self.index}")

    async def _read(self) -> None:
        assert self.process is not None
        try:
            while True:
                data = await self.process.stdout.read(65536)
                if not data:
                    break
                now = time.time()
                self.bytes_in += len(data)
                if self.raw_mode:
                    self._read_raw(data, now)
                else:
                    self.stream.feed(data)
                    match = TURN_BAR.search(self._top_line())
                    if match:
                        self._show(int(match.group(1)), now)
                self.changed.set()
        except (asyncssh.Error, OSError) as exc:
            if not self.closing:
                self.errors.append(f"ssh error: {exc!r}")
        finally:
            self.closed = True
            self.changed.set()
            if not self.closing:
                status = self.process.exit_status if self.process else None
                self.errors.append(f"disconnected (exit status {status})")
                self.error_screens.setdefault("disconnected", self.dump())

    def _show(self, turn: int, now: float) -> None:
        if turn > self.turn:
            for t in range(max(self.turn, 0) + 1, turn + 1):
                self.shown.setdefault(t, now)
            self.turn = turn

    def _read_raw(self, data: bytes, now: float) -> None:
        """Once playing, the bytes are searched as they are (a pyte screen per session costs
        more CPU than a 2-core machine running 20 apps leaves this client): the top bar's
        "turn N of M" is one run of text, and so is a notification's title."""
        window = self.tail[-64:] + data
        for match in TURN_BYTES.finditer(window):
            self._show(int(match.group(1)), now)
        for match in ERROR_BYTES.finditer(window):
            kind = match.group(0).decode(errors="replace")
            if kind not in self.error_screens:
                start = max(0, match.start() - 80)
                context = window[start : match.end() + 160].decode(errors="replace")
                self.error_screens[kind] = ANSI.sub(" ", context)
                self.errors.append(f"screen shows {kind!r}")
        self.tail = window[-4096:]
        self.recent = (self.recent + data)[-RECENT_BYTES:]

    def dump(self) -> str:
        """The screen, redrawn from the last output if the session is in raw mode."""
        if not self.raw_mode:
            return self.text()
        screen = pyte.Screen(COLUMNS, ROWS)
        pyte.ByteStream(screen).feed(self.recent)
        return "\n".join(screen.display)

    async def wait_for(self, check: Callable[[], bool], what: str, deadline: float) -> None:
        while not check():
            if self.closed:
                raise RuntimeError(f"session {self.index}: closed waiting for {what}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"session {self.index}: no {what} in time")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.5))

    def send(self, data: str) -> None:
        assert self.process is not None
        self.process.stdin.write(data.encode())

    async def open_campaign(self, port: int, deadline: float) -> None:
        """Log in and open the campaign on the Play screen."""
        await self.connect(port)
        name = f"Load {self.index:02d}"
        await self.wait_for(lambda: name in self.text(), "campaign list", deadline)
        self.send("\r")  # the only campaign of the tenant is highlighted: enter opens it
        await self.wait_for(lambda: self.turn >= 0, "Play screen", deadline)
        self.raw_mode = True

    async def start_autoplay(self, deadline: float) -> None:
        """Start auto-play and wait for its first turn on screen."""
        self.send("p")
        await self.wait_for(lambda: b"Auto-play how many" in self.tail, "auto-play box", deadline)
        self.started_turn = self.turn
        # The box opens with its count selected, so typing replaces it. Enter goes on its own:
        # Textual runs bound keys (enter, backspace) after the typed characters that arrived
        # in the same read (Textualize/textual#6605), so "\x7f5" in one write leaves "".
        self.send(str(AUTOPLAY_COUNT))
        await asyncio.sleep(0.3)
        self.send("\r")
        await self.wait_for(lambda: self.turn > self.started_turn, "auto-played turn", deadline)

    def scan(self) -> None:
        """Note error text on the screen (once per kind)."""
        if self.closed or self.raw_mode:
            return
        text = self.text()
        for match in ERROR_TEXT.finditer(text):
            kind = match.group(0).lower()
            if kind not in self.error_screens:
                self.error_screens[kind] = text
                line = next(line for line in text.splitlines() if match.group(0) in line)
                self.errors.append(f"screen shows {match.group(0)!r}: {line.strip()[:100]}")

    async def close(self) -> None:
        self.closing = True
        if self.conn is not None:
            self.conn.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.conn.wait_closed(), 5)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader


# ------------------------------------------------------------------ processes


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def memory_mb(pid: int) -> tuple[float | None, float | None]:
    """(RSS, PSS) in MB; None for what cannot be read."""
    rss = pss = None
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
    return rss, pss


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (its reaped children not included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


@dataclasses.dataclass
class Samples:
    rss: dict[int, list[float]] = dataclasses.field(default_factory=dict)
    pss: dict[int, list[float]] = dataclasses.field(default_factory=dict)
    server_rss: list[float] = dataclasses.field(default_factory=list)
    server_pss: list[float] = dataclasses.field(default_factory=list)


class Server:
    """``dramatis serve-ssh`` as a subprocess, its output in files."""

    def __init__(self, target: Target, keys_file: Path, sessions: int, logs: Path) -> None:
        self.stdout = logs / "serve-ssh.out"
        self.stderr = logs / "serve-ssh.err"
        argv = [
            sys.executable,
            "-m",
            "dramatis.cli",
            "serve-ssh",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--authorized-keys",
            str(keys_file),
            "--max-sessions",
            str(sessions + 2),
        ]
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=target.environment(),
                start_new_session=True,  # ctrl+c reaches us only; we stop it
                preexec_fn=lambda: os.nice(SERVER_NICE),  # its apps inherit it
            )
        self.app_pids: set[int] = set()

    async def port(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.stdout.read_text())
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                break
            await asyncio.sleep(0.1)
        raise RuntimeError(f"serve-ssh did not start:\n{self.stderr.read_text()}")

    def apps(self) -> list[int]:
        pids = children(self.process.pid)
        self.app_pids.update(pids)
        return pids

    async def stop(self) -> None:
        """SIGTERM (it closes every session), then SIGKILL it and any app left."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 40
            while self.process.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        for pid in self.app_pids:  # each app has its own session: not in the server's group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    def log_lines(self) -> list[str]:
        return self.stderr.read_text(errors="replace").splitlines()


# ------------------------------------------------------------------ the run


def pct(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def sample_loop(server: Server, sessions: list[Session], samples: Samples) -> None:
    while True:
        for pid in server.apps():
            rss, pss = memory_mb(pid)
            if rss is not None:
                samples.rss.setdefault(pid, []).append(rss)
            if pss is not None:
                samples.pss.setdefault(pid, []).append(pss)
        rss, pss = memory_mb(server.process.pid)
        if rss is not None:
            samples.server_rss.append(rss)
        if pss is not None:
            samples.server_pss.append(pss)
        for session in sessions:
            session.scan()
        await asyncio.sleep(SAMPLE_INTERVAL)


async def loop_lag(lags: list[float], interval: float = 0.05) -> None:
    """How late this client's event loop wakes up (a bound on its own timing error)."""
    while True:
        started = time.perf_counter()
        await asyncio.sleep(interval)
        lags.append(max(0.0, time.perf_counter() - started - interval))


async def run(args: argparse.Namespace, tmp: Path) -> int:
    data_dir = tmp / "data"
    data_dir.mkdir()
    schema = None
    if args.db and args.db.startswith(("postgresql://", "postgres://")):
        schema = f"bench{os.getpid()}"
        target = Target(data_dir, args.db, schema, args.pace)
    else:
        target = Target(data_dir, args.db or str(data_dir / "dramatis.db"), None, args.pace)
    os.environ["DRAMATIS_CONFIG"] = str(data_dir / "no-config.toml")  # no user config here
    n = args.sessions
    backend = f"PostgreSQL schema {schema}" if schema else "SQLite"
    pace = "the app's default pace" if args.pace is None else f"a turn every {args.pace:g} s"
    print(
        f"ssh load: {n} sessions x {args.seconds:.0f} s, {backend}, {COLUMNS}x{ROWS} terminals, "
        f"auto-play at {pace}"
    )
    print(
        f"  machine  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before; "
        f"server at nice {SERVER_NICE}"
    )

    server: Server | None = None
    sessions: list[Session] = []
    observer: Observer | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        started = time.perf_counter()
        await create_campaigns(target, n)
        keys = make_keys(n, tmp / "authorized_keys")
        print(f"  setup    {n} campaigns and keys in {time.perf_counter() - started:.1f} s")

        server = Server(target, tmp / "authorized_keys", n, tmp)
        port = await server.port()
        observer = Observer(target, OBSERVER_INTERVAL)
        observer.start()
        samples = Samples()
        lags: list[float] = []
        sessions = [Session(i, key) for i, key in enumerate(keys)]
        tasks.append(asyncio.create_task(sample_loop(server, sessions, samples)))
        tasks.append(asyncio.create_task(loop_lag(lags)))

        started = time.perf_counter()
        deadline = time.monotonic() + STARTUP_DEADLINE
        # All sessions reach the Play screen first, then all start auto-play at once, so the
        # first ones to play do not slow the start of the others.
        opened = await asyncio.gather(
            *(s.open_campaign(port, deadline) for s in sessions), return_exceptions=True
        )
        ready = [s for s, r in zip(sessions, opened, strict=True) if r is None]
        print(
            f"  start    {len(ready)} of {n} sessions on the Play screen after "
            f"{time.perf_counter() - started:.1f} s"
        )
        playing = await asyncio.gather(
            *(s.start_autoplay(deadline) for s in ready), return_exceptions=True
        )
        results = dict(zip(sessions, opened, strict=True))
        results.update(zip(ready, playing, strict=True))
        for session, exc in results.items():
            if exc is not None:
                session.errors.append(f"did not start: {exc!r}")
                session.error_screens.setdefault("start", session.dump())
        up = sum(1 for exc in results.values() if exc is None)
        print(f"           {up} of {n} auto-playing after {time.perf_counter() - started:.1f} s")

        # ---------------------------------------------------------- the measured window
        apps_before = set(server.apps())
        cpu_apps_0 = {pid: cpu_seconds(pid) for pid in apps_before}
        cpu_server_0 = cpu_seconds(server.process.pid)
        cpu_self_0 = time.process_time()
        busy_0 = machine_busy()
        lags.clear()
        bytes_0 = sum(s.bytes_in for s in sessions)
        t0 = time.time()
        await asyncio.sleep(args.seconds)
        t1 = time.time()
        busy_1 = machine_busy()
        cpu_self = time.process_time() - cpu_self_0
        cpu_server = cpu_seconds(server.process.pid) - cpu_server_0
        apps_after = set(server.apps())
        cpu_apps = sum(cpu_seconds(pid) - cpu_apps_0.get(pid, 0.0) for pid in apps_after)
        bytes_1 = sum(s.bytes_in for s in sessions)
        load = os.getloadavg()
        await asyncio.sleep(3.0)  # let the screens catch up with the window's last turns
        for session in sessions:
            session.scan()
        observer.stop()

        # ---------------------------------------------------------- figures
        elapsed = t1 - t0
        by_tenant = {s.tenant: s for s in sessions}
        window = {
            key: times
            for key, times in observer.turns.items()
            if t0 <= times[0] < t1 and key[0] in by_tenant
        }
        latencies, seen_lags, not_shown = [], [], []
        per_session: dict[str, int] = {s.tenant: 0 for s in sessions}
        for (tenant, turn), (recorded, seen) in window.items():
            per_session[tenant] += 1
            seen_lags.append(seen - recorded)
            shown = by_tenant[tenant].shown.get(turn)
            if shown is None:
                not_shown.append((tenant, turn))
            else:
                latencies.append(shown - recorded)
        stalls = []
        for session in sessions:
            times = sorted(t for t in session.shown.values() if t0 <= t < t1)
            edges = [t0, *times, t1]
            gap = max(b - a for a, b in itertools.pairwise(edges))
            usual = elapsed / max(1, len(times))  # the session's mean time between turns
            if gap > max(STALL_SECONDS, 3 * usual):
                stalls.append(f"{session.tenant}: no new turn on screen for {gap:.1f} s")
        died = sorted(apps_before - apps_after)
        log = server.log_lines()
        bad_log = [line for line in log if re.search(r"error|Traceback|disconnect", line, re.I)]

        counts = sorted(per_session.values())
        print()
        print(
            f"turns      {len(window):,} in {elapsed:.1f} s = {len(window) / elapsed:,.1f} "
            "turns/s overall"
        )
        print(
            f"           per session: min {counts[0]}  median {statistics.median(counts):.0f}"
            f"  max {counts[-1]} turns ({statistics.median(counts) / elapsed:.2f} turns/s each)"
        )
        if latencies:
            slowest = max(latencies)
            verdict = "within" if slowest <= TARGET_LATENCY and not not_shown else "OVER"
            print("screen     turn recorded -> its number on the session's screen (ms):")
            print(
                f"           median {statistics.median(latencies) * 1000:7.1f}   "
                f"p90 {pct(latencies, 0.90) * 1000:7.1f}   p99 {pct(latencies, 0.99) * 1000:7.1f}"
                f"   slowest {slowest * 1000:7.1f}   ({verdict} the {TARGET_LATENCY:.0f} s target)"
            )
            over = sum(1 for v in latencies if v > TARGET_LATENCY)
            print(
                f"           {len(latencies):,} turns measured, {over} over 1 s, "
                f"{len(not_shown)} never shown"
            )
        lag_ms = [v * 1000 for v in lags] or [0.0]
        seen_ms = statistics.median(seen_lags) * 1000 if seen_lags else float("nan")
        print(
            f"           error bounds: client loop late by median {statistics.median(lag_ms):.1f}"
            f" ms, max {max(lag_ms):.1f} ms; the store observer saw turns {seen_ms:.0f} ms"
            " (median) after recorded_at"
        )
        print(
            f"           (observer polls every {OBSERVER_INTERVAL * 1000:.0f} ms, "
            f"median query {statistics.median(observer.poll_ms or [0]):.1f} ms)"
        )
        mean_rss = [statistics.mean(v) for v in samples.rss.values()]
        mean_pss = [statistics.mean(v) for v in samples.pss.values()]
        if mean_rss:
            print(
                f"memory     app RSS per session: mean {statistics.mean(mean_rss):6.1f} MB   "
                f"max {max(max(v) for v in samples.rss.values()):6.1f} MB   "
                f"({len(samples.rss)} processes, {sum(len(v) for v in samples.rss.values())} "
                "samples)"
            )
        if mean_pss:
            print(
                f"           app PSS per session: mean {statistics.mean(mean_pss):6.1f} MB   "
                f"max {max(max(v) for v in samples.pss.values()):6.1f} MB   "
                f"(sum of means {sum(mean_pss):,.0f} MB)"
            )
        elif mean_rss:
            print("           app PSS: /proc/PID/smaps_rollup not readable")
        if samples.server_rss:
            pss_text = f", PSS {max(samples.server_pss):.1f} MB" if samples.server_pss else ""
            print(f"           server RSS max {max(samples.server_rss):.1f} MB{pss_text}")
        busy = (busy_1[0] - busy_0[0]) / max(1, busy_1[1] - busy_0[1])
        print(
            f"cpu        {os.cpu_count()} CPUs {busy * 100:.0f}% busy in the window; cores used: "
            f"apps {cpu_apps / elapsed:.2f}, server {cpu_server / elapsed:.2f}, "
            f"this client {cpu_self / elapsed:.2f}"
        )
        print(
            f"           load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
            f"SSH output {(bytes_1 - bytes_0) / elapsed / 1024:,.0f} KiB/s to all clients"
        )

        errors = [f"session {s.index:02d}: {e}" for s in sessions for e in s.errors]
        errors += [f"app process {pid} died in the window" for pid in died]
        errors += [f"server log: {line}" for line in bad_log]
        if observer.error is not None:
            errors.append(f"store observer failed: {observer.error!r}")
        print(f"errors     {len(errors)}" + ("  (target 0)" if errors else ""))
        for line in errors[:30]:
            print(f"           {line}")
        if stalls:
            print(f"stalls     {len(stalls)}")
            for line in stalls:
                print(f"           {line}")
        for session in sessions:
            if session.errors:
                kind, text = next(iter(session.error_screens.items()))
                print(f"\nsession {session.index:02d}, {kind!r} in:\n{text}")
                print(f"\nits screen at the end (redrawn from its last output):\n{session.dump()}")
                break
        ok = not errors and bool(latencies) and max(latencies) <= TARGET_LATENCY
        return 0 if ok else 1
    finally:
        for task in tasks:
            task.cancel()
        if observer is not None and observer.is_alive():
            observer.stop()
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
        if server is not None:
            await server.stop()
        if schema is not None:
            drop_schema(target.db, schema)


def drop_schema(dsn: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s",
            (schema, schema + r"\_%"),
        ).fetchall()
        for (name,) in rows:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--db", help="postgresql://... (a fresh schema) or a SQLite path")
    parser.add_argument("--quick", action="store_true", help="4 sessions for 10 s")
    parser.add_argument(
        "--pace",
        type=float,
        help="seconds between auto-played turns (the app's default in shared play is 2)",
    )
    args = parser.parse_args()
    if args.quick:
        args.sessions, args.seconds = 4, 10.0
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    with tempfile.TemporaryDirectory(prefix="dramatis-ssh-load-") as tmp:
        return await run(args, Path(tmp))


if __name__ == "__main__":
    try:
        raise SystemExit(asyncio.run(main()))
    except KeyboardInterrupt:
        print("interrupted; everything was stopped", file=sys.stderr)
        raise SystemExit(130) from None
