"""A real OpenSSH client on a PTY, read through a pyte screen, and the keys it logs in with."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyte
import pytest

from dramatis.bootstrap import open_dramatis
from dramatis.config import Settings
from dramatis.sheets.campaign_loader import find_sample, load_campaign_file
from dramatis.ssh.server import SSHHost
from dramatis.ssh.session import SessionInfo

SSH = shutil.which("ssh") or "/usr/bin/ssh"
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
DEADLINE = 30.0  # seconds: the app takes a second or more to start on a busy 2-core machine


def require_openssh() -> None:
    """Skip (or, where services are required, fail) when the OpenSSH client is missing."""
    if os.path.exists(SSH) and os.path.exists(SSH_KEYGEN):
        return
    reason = "the OpenSSH client (ssh, ssh-keygen) is not installed; apt-get install openssh-client"
    if os.environ.get("DRAMATIS_REQUIRE_SERVICES"):
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class ClientKey:
    """A client key pair made with ssh-keygen."""

    private: Path
    public_line: str  # "ssh-ed25519 AAAA... comment"

    def authorized_line(self, **env: str) -> str:
        """The authorized-keys line for this key with environment="NAME=value" options."""
        options = ",".join(f'environment="{name}={value}"' for name, value in env.items())
        return f"{options} {self.public_line}" if options else self.public_line


def make_key(directory: Path, name: str, comment: str | None = None) -> ClientKey:
    """A new ed25519 key pair without a passphrase."""
    directory.mkdir(parents=True, exist_ok=True)
    private = directory / name
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment or name, "-f", str(private)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    public = private.with_name(name + ".pub").read_text(encoding="utf-8").strip()
    return ClientKey(private=private, public_line=public)


def write_authorized_keys(path: Path, lines: list[str]) -> None:
    """Write the file so a reload sees it (a new mtime even within one clock tick)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if path.stat().st_mtime_ns <= before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def ssh_argv(key: Path, port: int, *extra: str, command: Sequence[str] = ()) -> list[str]:
    return [
        SSH,
        "-tt",
        "-F",
        "/dev/null",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "PasswordAuthentication=no",
        "-o",
        "BatchMode=yes",
        "-o",
        "LogLevel=ERROR",
        "-i",
        str(key),
        "-p",
        str(port),
        *extra,
        "player@127.0.0.1",
        *command,
    ]


class SshTerminal:
    """``ssh`` running on a PTY of a given size; its output drawn on a pyte screen."""

    def __init__(self, argv: list[str], columns: int = 120, rows: int = 36) -> None:
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self._master, slave = os.openpty()
        _set_size(slave, columns, rows)
        env = {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "SSH_AGENT_PID")}
        self.process = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm-256color"},
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        os.set_blocking(self._master, False)
        self._closed = False
        self._changed = asyncio.Event()
        asyncio.get_running_loop().add_reader(self._master, self._read)

    def _read(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._stop_reading()
        else:
            self.raw += data
            self.stream.feed(data)
        self._changed.set()

    def _stop_reading(self) -> None:
        if not self._closed:
            self._closed = True
            asyncio.get_running_loop().remove_reader(self._master)

    def text(self) -> str:
        """The screen as text, one line per row."""
        return "\n".join(self.screen.display)

    def last_line(self) -> str:
        return self.screen.display[-1]

    def last_line_has(self, text: str) -> bool:
        return text in self.screen.display[-1]

    async def wait_for(
        self, condition: Callable[[SshTerminal], bool] | str, timeout: float = DEADLINE
    ) -> None:
        """Wait until ``condition`` holds (or the text appears on the screen), or fail."""
        check = (lambda t: condition in t.text()) if isinstance(condition, str) else condition
        deadline = time.monotonic() + timeout
        while not check(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self._closed and not check(self)):
                what = condition if isinstance(condition, str) else "the condition"
                state = "ssh exited" if self._closed else f"not met in {timeout:.0f}s"
                raise AssertionError(f"{what!r}: {state}; the screen:\n{self.text()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))

    def send(self, data: bytes) -> None:
        os.write(self._master, data)

    def resize(self, columns: int, rows: int) -> None:
        """Resize the client's terminal, as a window manager would (ssh gets SIGWINCH)."""
        self.screen.resize(rows, columns)
        self.screen.reset()  # only what the app draws after the resize counts
        _set_size(self._master, columns, rows)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGWINCH)

    async def wait_exit(self, timeout: float = DEADLINE) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"ssh did not exit; the screen:\n{self.text()}")
            await asyncio.sleep(0.05)
        await self.wait_for(lambda t: t._closed, timeout=5)
        return self.process.returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    def close(self) -> None:
        self.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self._stop_reading()
        with contextlib.suppress(OSError):
            os.close(self._master)


def _set_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


async def wait_until(check: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    """Poll ``check`` until it holds, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s")
        await asyncio.sleep(0.05)


async def wait_until_async(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float = DEADLINE
) -> None:
    """Poll the coroutine ``check`` until it returns True, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s")
        await asyncio.sleep(0.1)


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def process_environment(pid: int) -> dict[str, str]:
    """Another process's environment, from /proc."""
    data = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in data.split(b"\0") if b"=" in item)
    return {name.decode(): value.decode(errors="replace") for name, value in pairs}


# ------------------------------------------------------------------ the host under test


@dataclass
class Host:
    """A running SSH host, the file of keys it reads and the sessions that ended."""

    server: SSHHost
    authorized_keys: Path
    keys_dir: Path
    ended: list[SessionInfo] = field(default_factory=list)
    terminals: list[SshTerminal] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.port

    def key(self, name: str, comment: str | None = None) -> ClientKey:
        return make_key(self.keys_dir, name, comment)

    def ssh(
        self,
        key: ClientKey,
        *extra: str,
        command: Sequence[str] = (),
        columns: int = 120,
        rows: int = 36,
        tty: bool = True,
    ) -> SshTerminal:
        """A real ``ssh`` client logging in with ``key`` (``extra`` options, a ``command``)."""
        argv = ssh_argv(key.private, self.port, *extra, command=command)
        if not tty:
            argv[argv.index("-tt")] = "-T"
        terminal = SshTerminal(argv, columns=columns, rows=rows)
        self.terminals.append(terminal)
        return terminal


StartHost = Callable[..., Awaitable[Host]]


async def start_server_process(
    keys: Path, env: dict[str, str] | None = None
) -> tuple[asyncio.subprocess.Process, int, list[str]]:
    """``dramatis serve-ssh`` on a free port as its own process: (process, port, banner)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dramatis.cli",
        "serve-ssh",
        "--port",
        "0",
        "--authorized-keys",
        str(keys),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    lines: list[str] = []
    while not any(line.startswith("Stop with") for line in lines):
        line = await asyncio.wait_for(process.stdout.readline(), DEADLINE)
        assert line, f"the server stopped: {lines}"
        lines.append(line.decode())
    found = re.search(r"listening on 127\.0\.0\.1:(\d+)", lines[0])
    assert found is not None, lines
    return process, int(found.group(1)), lines


async def create_campaign(name: str, *, tenant: str = "default", sample: str = "salt-road") -> str:
    """A campaign of two turns named ``name`` in ``tenant``; its id."""
    loaded = load_campaign_file(find_sample(sample))
    loaded = dataclasses.replace(loaded, campaign=loaded.campaign.model_copy(update={"name": name}))
    async with open_dramatis(Settings(tenant=tenant)) as dramatis:
        result = await dramatis.campaigns.play(loaded, turns=2, offline=True)
    return result.view.campaign_id


async def turns_of(campaign_id: str, *, tenant: str = "default") -> int:
    async with open_dramatis(Settings(tenant=tenant)) as dramatis:
        return (await dramatis.campaigns.show(campaign_id)).turns


def winch_probe(argv: list[str]) -> int:
    """An app for ``dramatis.ssh.child``: prints its terminal size now and on each SIGWINCH."""
    import sys

    def show(*_: object) -> None:
        print(os.get_terminal_size(0), flush=True)

    show()
    signal.signal(signal.SIGWINCH, show)
    sys.stdin.readline()
    return 0
